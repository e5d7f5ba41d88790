/**
 * The live status line on a terminal: events/s, lag shrinking during catch-up, and a progress bar per table
 * while a snapshot copies rows. Only on a TTY; logs clear it before they print, and it is redrawn next tick.
 */
import type { PipelineStatus } from '@walstream/core';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

export interface StatusLine {
  update(status: readonly PipelineStatus[]): void;
  clear(): void;
}

export function createStatusLine(out: NodeJS.WriteStream = process.stderr): StatusLine {
  const last = new Map<string, { events: number; at: number }>();
  let drawn = 0;
  const clear = () => {
    if (drawn === 0) return;
    out.write(`\x1b[${drawn}F\x1b[0J`);
    drawn = 0;
  };
  return {
    clear,
    update(status) {
      const lines: string[] = [];
      const now = Date.now();
      for (const s of status) {
        const prev = last.get(s.name);
        const rate = prev ? ((s.eventsIn - prev.events) * 1000) / Math.max(1, now - prev.at) : 0;
        last.set(s.name, { events: s.eventsIn, at: now });
        const sinks = s.sinks.map((k) => `${k.name}:${k.state}`).join(' ');
        lines.push(
          `${s.name} ${s.state}  ${s.eventsIn.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')}/s  lag ${formatBytes(s.lagBytes)}  ${sinks}`,
        );
        for (const t of s.snapshot) {
          if (t.state === 'done') continue;
          const frac = t.rowsEstimated ? t.rowsDone / t.rowsEstimated : 0;
          lines.push(
            `  snapshot ${t.table} ${bar(frac)} ${t.rowsDone.toLocaleString('en-US')}/${(t.rowsEstimated ?? 0).toLocaleString('en-US')} rows${t.etaMs !== null ? `, ${Math.ceil(t.etaMs / 1000)} s left` : ''}`,
          );
        }
      }
      clear();
      out.write(`${lines.join('\n')}\n`);
      drawn = lines.length;
    },
  };
}
