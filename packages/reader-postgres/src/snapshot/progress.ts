import type { TableSnapshotProgress } from '@walstream/core';

interface Entry {
  snapshotId: string;
  table: string;
  state: TableSnapshotProgress['state'];
  rowsDone: number;
  rowsEstimated: number | null;
  startedAt: number;
  endedAt: number | null;
}

/** Per-table counters of the snapshots of one reader; the last 64 tables are kept. */
export class SnapshotProgress {
  private readonly entries = new Map<string, Entry>();

  pending(snapshotId: string, table: string): void {
    const k = `${snapshotId}\0${table}`;
    if (!this.entries.has(k)) {
      this.entries.set(k, {
        snapshotId,
        table,
        state: 'pending',
        rowsDone: 0,
        rowsEstimated: null,
        startedAt: 0,
        endedAt: null,
      });
    }
    while (this.entries.size > 64) this.entries.delete(this.entries.keys().next().value as string);
  }

  start(snapshotId: string, table: string, estimated: number | null): void {
    this.pending(snapshotId, table);
    const e = this.entries.get(`${snapshotId}\0${table}`) as Entry;
    e.state = 'copying';
    e.rowsEstimated = estimated;
    e.startedAt = Date.now();
  }

  add(snapshotId: string, table: string, rows: number): void {
    const e = this.entries.get(`${snapshotId}\0${table}`);
    if (e !== undefined) e.rowsDone += rows;
  }

  finish(snapshotId: string, table: string): void {
    const e = this.entries.get(`${snapshotId}\0${table}`);
    if (e === undefined) return;
    e.state = 'done';
    e.endedAt = Date.now();
  }

  rows(snapshotId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) if (e.snapshotId === snapshotId) out[e.table] = e.rowsDone;
    return out;
  }

  list(): TableSnapshotProgress[] {
    const now = Date.now();
    return [...this.entries.values()].map((e) => {
      const elapsed = e.startedAt === 0 ? 0 : ((e.endedAt ?? now) - e.startedAt) / 1000;
      const rate = elapsed > 0 ? e.rowsDone / elapsed : 0;
      let eta: number | null = null;
      if (e.state === 'done') eta = 0;
      else if (e.rowsEstimated !== null && e.rowsDone < e.rowsEstimated && rate > 0) {
        // Past its estimate a table's end is unknown: null, not a "0 ms left" that stays on screen.
        eta = Math.round(((e.rowsEstimated - e.rowsDone) / rate) * 1000);
      }
      return {
        snapshotId: e.snapshotId,
        table: e.table,
        state: e.state,
        rowsDone: e.rowsDone,
        rowsEstimated: e.rowsEstimated,
        rowsPerSecond: Math.round(rate),
        etaMs: eta,
      };
    });
  }
}
