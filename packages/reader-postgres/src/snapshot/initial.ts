/**
 * The initial copy, inside the snapshot the slot exported when it was created: every row of every table, in
 * primary-key chunks, before anything is streamed. Positions sit just below the slot's consistent point, so
 * they order before every streamed change. If the exporting session is lost half-way, the rest continues as an
 * on-demand snapshot from the last chunk handed out.
 *
 * Rows stream: each table is one COPY in key order whose rows become READ events as they arrive and are handed
 * out as soon as the consumer asks, so they die young (a whole chunk held until its end would outlive the young
 * generation and be copied and promoted by every scavenge). Every `chunkRows` rows a chunk ends: its commit,
 * and so its checkpoint (the key the next chunk starts after), follows its last row. The socket is paused while
 * rows of MAX_QUEUED_BYTES (on the wire) wait for the consumer, or while two finished chunks do: rows queued by
 * the thousand outlived the young generation (5M rows: 175 MB peak RSS for a live heap of 15 MB).
 */
import { formatLsn, type Position, type ReaderItem, type SchemaChange, type TransactionCommit } from '@walstream/core';
import type pg from 'pg';
import type { SnapshotJobState } from './checkpoint.js';
import { CopyFlow } from './copy.js';
import type { Snapshotter } from './snapshotter.js';
import { chunkSelect, copyRows, describeTable, keyText } from './table.js';

/**
 * Rows (bytes on the wire) queued for the consumer before the COPY's socket is paused: about one socket read.
 * With one COPY per table there is no pause between chunks for the consumer to catch up in, and at 1 MiB the
 * queued rows outlived the young generation (2M rows: 165 MB peak RSS against 99 MB at 64 KiB).
 */
const MAX_QUEUED_BYTES = 64 * 1024;

/** What the copying side hands to the generator, in order; `commit` entries close a chunk. */
interface Queue {
  items: ReaderItem[];
  /** Index in `items` just past the last chunk commit (what may still be handed out after a failure). */
  committed: number;
  /** Chunks whose commit is queued but not yet handed out. */
  unfinished: number;
  /** The checkpoint state after the last chunk handed out (resume point after a failure). */
  states: SnapshotJobState[];
  end: boolean;
  error: Error | null;
  wake: (() => void) | null;
  stopped: boolean;
  /** Wire bytes of the rows in `items`, and the COPY's flow control. */
  bytes: number;
  readonly flow: CopyFlow;
}

export async function* runInitial(
  snap: Snapshotter,
  client: pg.Client,
  lsn: bigint,
  only: boolean,
): AsyncGenerator<ReaderItem[]> {
  const base = snap.initialState();
  const tables = base.tables;
  const id = 'initial';
  for (const t of tables) snap.progress.pending(id, `${t.schema}.${t.table}`);
  const q: Queue = {
    items: [],
    committed: 0,
    unfinished: 0,
    states: [],
    end: false,
    error: null,
    wake: null,
    stopped: false,
    bytes: 0,
    flow: new CopyFlow(),
  };
  let cursor: SnapshotJobState = base;
  let last: Position | null = null;
  const copying = copyAll(snap, client, lsn, only, base, q);
  copying.catch(() => {}); // its failure is read from q.error
  let finished = false;
  try {
    for (;;) {
      if (q.items.length === 0) {
        if (q.error !== null || q.end) break;
        await new Promise<void>((resolve) => {
          q.wake = resolve;
        });
        continue;
      }
      // Everything queued, or after a failure only the finished chunks: rows of a chunk cut short would come
      // again from its boundary.
      const out = q.error === null ? q.items : q.items.slice(0, q.committed);
      q.items = [];
      q.committed = 0;
      q.bytes = 0;
      q.flow.resume();
      for (const item of out) {
        if ((item as { kind?: string }).kind === 'commit') {
          cursor = q.states.shift() as SnapshotJobState;
          last = (item as TransactionCommit).position;
          q.unfinished--;
        }
      }
      if (out.length > 0) yield out;
    }
    if (q.error !== null) throw q.error;
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
    q.stopped = true;
    // A COPY still running is cut, not read to its end (the rest of a table): ending a client whose query is
    // active destroys its socket.
    q.flow.resume();
    await snap.release(client);
    await copying.catch(() => {});
  }
  if (finished && !only) {
    const done: SnapshotJobState = { ...base, tableIndex: tables.length, lastKey: null, done: true };
    if (last === null) await snap.store.save(snap.host.slot, done);
    else snap.addAck(last, done);
  }
}

/**
 * The copying side: one COPY per table in key order, its rows queued as READ events as they arrive and cut into
 * chunks of `chunkRows` on the way (a chunk's commit carries the key its successor starts after). One query per
 * table instead of one per chunk spares a round trip, a plan and an idle wait per chunk: a seventh of the copy's
 * time at 10,000-row chunks.
 */
async function copyAll(
  snap: Snapshotter,
  client: pg.Client,
  lsn: bigint,
  only: boolean,
  base: SnapshotJobState,
  q: Queue,
): Promise<void> {
  const id = 'initial';
  const tables = base.tables;
  const timestamp = new Date().toISOString();
  let index = 0;
  const wake = () => {
    const w = q.wake;
    q.wake = null;
    w?.();
  };
  try {
    // Key order comes from the primary key's index, never from sorting the table: with sorts off the planner
    // takes the index scan (what each LIMITed chunk used), so rows stream from the first one on and a table
    // larger than memory needs no sort on disk. A table's COPY lasts as long as the sinks take to write it, so a
    // statement_timeout of the role or database must not cut it (that would lose the exported snapshot). Both
    // revert at the end of the snapshot's transaction.
    await client.query('SET LOCAL enable_sort = off; SET LOCAL statement_timeout = 0');
    for (let ti = 0; ti < tables.length; ti++) {
      if (q.stopped) return;
      const spec = tables[ti] as { schema: string; table: string };
      const t = await describeTable(client, spec.schema, spec.table, snap.host.publication, snap.serverVersion);
      snap.progress.start(id, t.name, t.estimatedRows);
      const schema: SchemaChange = { kind: 'schema', position: { lsn, index }, schema: t.schemaItem, previous: null };
      q.items.push(schema);
      let inChunk = 0;
      let last = '';
      const endChunk = (next: SnapshotJobState) => {
        const commit: TransactionCommit = {
          kind: 'commit',
          position: { lsn, index: index - 1 },
          transactionId: '0',
          timestamp,
          eventCount: inChunk,
        };
        if (!only) snap.addAck(commit.position, next);
        snap.progress.add(id, t.name, inChunk);
        q.items.push(commit);
        q.committed = q.items.length;
        q.states.push(next);
        q.unfinished++;
        inChunk = 0;
        // At most one finished chunk still being handed out while the next one is read.
        if (q.unfinished > 1) q.flow.pause();
        wake();
      };
      await copyRows(
        client,
        t,
        snap.host.types,
        chunkSelect(t, null, null),
        (row, key, bytes, line) => {
          if (q.stopped) return;
          // A full chunk ends when a row after it comes (or the COPY ends: then the next chunk is the next table's).
          if (inChunk === base.chunkRows) endChunk({ ...base, tableIndex: ti, lastKey: keyText(t, last) });
          q.items.push(snap.readEvent(t, lsn, index++, timestamp, '0', key, row));
          inChunk++;
          last = line;
          q.bytes += bytes;
          if (q.bytes >= MAX_QUEUED_BYTES) q.flow.pause();
          // Handed out once this socket read's rows are parsed: microtasks run between reads.
          if (q.wake !== null) wake();
        },
        // A value that fails to decode fails the copy now, not after the rest of the table (the client is ended).
        { flow: q.flow, cutOnError: true },
      );
      if (inChunk > 0) endChunk({ ...base, tableIndex: ti + 1, lastKey: null });
      snap.progress.finish(id, t.name);
    }
  } catch (err) {
    q.error = err as Error;
  } finally {
    q.end = true;
    wake();
  }
}
