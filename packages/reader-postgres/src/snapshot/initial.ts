/**
 * The initial copy, inside the snapshot the slot exported when it was created: every row of every table, in
 * primary-key chunks, before anything is streamed. Positions sit just below the slot's consistent point, so
 * they order before every streamed change. If the exporting session is lost half-way, the rest continues as an
 * on-demand snapshot from the last chunk handed out.
 */
import { formatLsn, type Position, type ReaderItem, type SchemaChange, type TransactionCommit } from '@walstream/core';
import type pg from 'pg';
import type { SnapshotJobState } from './checkpoint.js';
import type { Snapshotter } from './snapshotter.js';
import { describeTable, readChunk } from './table.js';

export async function* runInitial(
  snap: Snapshotter,
  client: pg.Client,
  lsn: bigint,
  only: boolean,
): AsyncGenerator<ReaderItem[]> {
  const base = snap.initialState();
  const tables = base.tables;
  const timestamp = new Date().toISOString();
  const id = 'initial';
  for (const t of tables) snap.progress.pending(id, `${t.schema}.${t.table}`);
  let index = 0;
  let last: Position | null = null;
  let cursor: SnapshotJobState = base;
  let finished = false;
  try {
    for (let ti = 0; ti < tables.length; ti++) {
      const spec = tables[ti] as { schema: string; table: string };
      const t = await describeTable(client, spec.schema, spec.table, snap.host.publication, snap.serverVersion);
      snap.progress.start(id, t.name, t.estimatedRows);
      const schema: SchemaChange = { kind: 'schema', position: { lsn, index }, schema: t.schemaItem, previous: null };
      let out: ReaderItem[] = [schema];
      // The next chunk's query runs while this one is handed out (its boundary is known): two chunks in memory.
      let ahead = readChunk(client, t, snap.host.types, null, base.chunkRows);
      ahead.catch(() => {}); // awaited below; not unhandled if the consumer stops first
      for (;;) {
        const chunk = await ahead;
        const end = chunk.rows.length < base.chunkRows;
        if (!end) {
          ahead = readChunk(client, t, snap.host.types, chunk.lastKey, base.chunkRows);
          ahead.catch(() => {});
        }
        const next: SnapshotJobState = end
          ? { ...base, tableIndex: ti + 1, lastKey: null }
          : { ...base, tableIndex: ti, lastKey: chunk.lastKey };
        if (chunk.rows.length > 0) {
          for (let i = 0; i < chunk.rows.length; i++)
            out.push(snap.readEvent(t, lsn, index++, timestamp, '0', chunk, i));
          const commit: TransactionCommit = {
            kind: 'commit',
            position: { lsn, index: index - 1 },
            transactionId: '0',
            timestamp,
            eventCount: chunk.rows.length,
          };
          last = commit.position;
          if (!only) snap.addAck(commit.position, next);
          snap.progress.add(id, t.name, chunk.rows.length);
          cursor = next;
          out.push(commit);
        }
        // One chunk at a time: a promise per chunk rather than per row.
        if (out.length > 0) yield out;
        out = [];
        cursor = next;
        if (end) break;
      }
      snap.progress.finish(id, t.name);
    }
    finished = true;
    await client.query('COMMIT').catch(() => {});
  } catch (err) {
    if (only || snap.closed) throw err;
    snap.host.log.warn('initial snapshot lost its exported snapshot; continuing as an on-demand snapshot', {
      table: tables[cursor.tableIndex]
        ? `${tables[cursor.tableIndex]?.schema}.${tables[cursor.tableIndex]?.table}`
        : null,
      after: last === null ? null : formatLsn(last.lsn),
      error: (err as Error).message,
    });
    void snap.enqueue(cursor).done.catch(() => {});
  } finally {
    await snap.release(client);
  }
  if (finished && !only) {
    const done: SnapshotJobState = { ...base, tableIndex: tables.length, lastKey: null, done: true };
    if (last === null) await snap.store.save(snap.host.slot, done);
    else snap.addAck(last, done);
  }
}
