// Snapshot progress for the demo: on a TTY a bar per table, redrawn in place (rows done of the estimate from
// pg_class.reltuples, rate, ETA); otherwise one line per table when it is done. Reads pipeline.status().snapshot.

const fmt = (n) => Math.round(n).toLocaleString('en-US');

function bar(t, width = 28) {
  const total = t.rowsEstimated && t.rowsEstimated > 0 ? t.rowsEstimated : null;
  const frac = t.state === 'done' ? 1 : total ? Math.min(1, t.rowsDone / total) : 0;
  const full = Math.round(frac * width);
  const eta = t.state === 'done' ? 'done' : t.etaMs === null ? 'ETA ?' : `ETA ${(t.etaMs / 1000).toFixed(1)}s`;
  return `  ${t.table.padEnd(20)} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${fmt(t.rowsDone)}${total ? `/${fmt(total)}` : ''} rows  ${fmt(t.rowsPerSecond)} rows/s  ${eta}`;
}

/** Shows the initial snapshot's progress; resolves when every table is copied (at once when there is none). */
export function showSnapshotProgress(pipeline, out = process.stdout) {
  const tty = Boolean(out.isTTY);
  let drawn = 0;
  const reported = new Set();
  return new Promise((resolve) => {
    const tick = () => {
      const tables = pipeline.status().snapshot.filter((t) => t.snapshotId === 'initial');
      if (tty) {
        if (drawn > 0) out.write(`\x1b[${drawn}A`);
        for (const t of tables) out.write(`\x1b[2K${bar(t)}\n`);
        drawn = tables.length;
      } else {
        for (const t of tables) {
          if (t.state !== 'done' || reported.has(t.table)) continue;
          reported.add(t.table);
          out.write(`copied ${fmt(t.rowsDone)} existing rows of ${t.table}\n`);
        }
      }
      const done = tables.every((t) => t.state === 'done');
      const stopped = ['stopping', 'stopped', 'failed'].includes(pipeline.status().state);
      if (done || stopped) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 100);
    tick();
  });
}

/** `sink` without the snapshot's copied rows (READ) and the commit markers of their chunks: changes only. */
export function changesOnly(sink) {
  const copied = new Set();
  return {
    ...sink,
    name: sink.name,
    open: sink.open?.bind(sink),
    close: sink.close?.bind(sink),
    write(batch, opts) {
      const events = batch.events.filter((e) => {
        if (e.operation !== 'READ') return true;
        copied.add(e.position.lsn);
        return false;
      });
      const commits = batch.commits.filter((c) => !copied.delete(c.position.lsn));
      return sink.write({ ...batch, events, commits }, opts);
    },
  };
}
