/**
 * One on-demand snapshot, chunk by chunk, while the stream keeps flowing: each chunk is read in its own
 * REPEATABLE READ transaction (its snapshot kept), then a high watermark goes into the WAL through
 * pg_logical_emit_message; the read loop hands the chunk's surviving rows out inside the watermark's
 * transaction (see window.ts) and only then is the next chunk read, so memory holds one chunk.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, type Position, WalstreamError } from '@walstream/core';
import type { SnapshotJobState } from './checkpoint.js';
import type { Snapshotter } from './snapshotter.js';
import { type Chunk, describeTable, readChunk, type SnapshotTable } from './table.js';
import { ChangeWindow, PgSnapshot } from './window.js';

export interface Job {
  readonly state: SnapshotJobState;
  rows: number;
}

export interface PendingChunk {
  readonly table: SnapshotTable;
  readonly chunk: Chunk;
  readonly snapshot: PgSnapshot;
  /** First chunk of its table: a schema item goes out before the rows. */
  readonly first: boolean;
  /** The checkpoint once this chunk is durable everywhere. */
  readonly next: SnapshotJobState;
  emitted(position: Position, rows: number): void;
  abort(): void;
}

export async function runJob(snap: Snapshotter, job: Job): Promise<void> {
  const state = job.state;
  const c = await snap.connect();
  try {
    // Saved before the first chunk, so a crash at any point resumes this snapshot.
    await snap.store.save(snap.host.slot, state);
    let last: Position | null = null;
    for (let ti = state.tableIndex; ti < state.tables.length; ti++) {
      const spec = state.tables[ti] as { schema: string; table: string };
      const t = await describeTable(c, spec.schema, spec.table, snap.host.publication, snap.serverVersion);
      const wkey = `${spec.schema}\0${spec.table}`;
      snap.windows.set(wkey, new ChangeWindow(t.keyIndexes.map((i) => (t.columns[i] as { name: string }).name)));
      snap.progress.start(state.id, t.name, t.estimatedRows);
      let after = ti === state.tableIndex ? state.lastKey : null;
      let first = true;
      try {
        for (;;) {
          if (snap.closed) throw new WalstreamError(ErrorCode.Stopped, 'reader closed during a snapshot');
          await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          let snapshotText: string;
          let chunk: Chunk;
          try {
            const s = await c.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
            snapshotText = (s.rows[0] as { s: string }).s;
            chunk = await readChunk(c, t, snap.host.types, after, state.chunkRows);
          } finally {
            await c.query('COMMIT');
          }
          const end = chunk.rows.length < state.chunkRows;
          const next: SnapshotJobState = end
            ? { ...state, tableIndex: ti + 1, lastKey: null }
            : { ...state, tableIndex: ti, lastKey: chunk.lastKey };
          const token = `H:${state.id}:${randomBytes(6).toString('hex')}`;
          const emitted = new Promise<{ position: Position; rows: number }>((resolve, reject) => {
            snap.pending.set(token, {
              table: t,
              chunk,
              snapshot: PgSnapshot.parse(snapshotText),
              first,
              next,
              emitted: (position, rows) => resolve({ position, rows }),
              abort: () => reject(new WalstreamError(ErrorCode.Stopped, 'reader closed during a snapshot')),
            });
          });
          await c.query('SELECT pg_logical_emit_message(true, $1, $2)', [snap.prefix, token]);
          const out = await emitted;
          last = out.position;
          // Rows handed out: a copied row whose live change won went out as that change instead.
          snap.progress.add(state.id, t.name, out.rows);
          first = false;
          if (end) break;
          after = chunk.lastKey;
        }
      } finally {
        snap.windows.delete(wkey);
      }
      snap.progress.finish(state.id, t.name);
    }
    const done: SnapshotJobState = { ...state, tableIndex: state.tables.length, lastKey: null, done: true };
    if (last === null) await snap.store.save(snap.host.slot, done);
    else snap.addAck(last, done);
  } catch (err) {
    snap.fail(err as Error, state.id);
    throw err;
  } finally {
    await snap.release(c);
  }
}
