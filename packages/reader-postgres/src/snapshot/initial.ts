/**
 * The initial copy, inside the snapshot the slot exported when it was created: every row of every table, in
 * primary-key chunks, before anything is streamed. Positions sit just below the slot's consistent point, so
 * they order before every streamed change. If the exporting session is lost half-way, the rest continues as an
 * on-demand snapshot from the last chunk handed out.
 *
 * Rows stream: each chunk is one COPY whose rows become READ events as they arrive and are handed out as soon
 * as the consumer asks, so they die young (a whole chunk held until its end would outlive the young generation
 * and be copied and promoted by every scavenge). A chunk's commit, and so its checkpoint, follows its last row.
 * The next chunk's COPY starts when one ends (its boundary is then known) only while at most one finished chunk
 * is still being handed out: memory holds at most two chunks, however slow the consumer. Within a chunk, once
 * rows of MAX_QUEUED_BYTES (on the wire) wait for the consumer, the socket is paused until it takes them: rows
 * queued by the thousand outlived the young generation (5M rows: 175 MB peak RSS for a live heap of 15 MB).
 */
import {
  type ChangeEvent,
  formatLsn,
  type Position,
  type ReaderItem,
  type SchemaChange,
  type TransactionCommit,
} from '@walstream/core';
import type pg from 'pg';
import type { SnapshotJobState } from './checkpoint.js';
import { CopyFlow } from './copy.js';
import type { Snapshotter } from './snapshotter.js';
import { chunkSelect, copyChunk, describeTable } from './table.js';

/** Rows (bytes on the wire) queued for the consumer before the COPY's socket is paused: the reader's default read-ahead. */
const MAX_QUEUED_BYTES = 1 << 20;

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
  room: (() => void) | null;
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
    room: null,
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
      q.room?.();
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
    // A paused COPY would never end: let it run out (its rows are dropped) so the connection can be released.
    q.flow.resume();
    q.room?.();
    await snap.release(client);
    await copying.catch(() => {});
  }
  if (finished && !only) {
    const done: SnapshotJobState = { ...base, tableIndex: tables.length, lastKey: null, done: true };
    if (last === null) await snap.store.save(snap.host.slot, done);
    else snap.addAck(last, done);
  }
}

/** The copying side: one COPY per chunk, rows queued as READ events as they arrive. */
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
    for (let ti = 0; ti < tables.length; ti++) {
      const spec = tables[ti] as { schema: string; table: string };
      const t = await describeTable(client, spec.schema, spec.table, snap.host.publication, snap.serverVersion);
      snap.progress.start(id, t.name, t.estimatedRows);
      const schema: SchemaChange = { kind: 'schema', position: { lsn, index }, schema: t.schemaItem, previous: null };
      q.items.push(schema);
      let after: readonly string[] | null = null;
      for (;;) {
        // At most one finished chunk still being handed out while the next one is read.
        while (q.unfinished > 1 && !q.stopped) {
          await new Promise<void>((resolve) => {
            q.room = resolve;
          });
          q.room = null;
        }
        if (q.stopped) return;
        const select = chunkSelect(t, after, base.chunkRows);
        const chunk = await copyChunk(
          client,
          t,
          snap.host.types,
          select,
          (row, key, bytes) => {
            const e: ChangeEvent = snap.readEvent(t, lsn, index++, timestamp, '0', key, row);
            q.items.push(e);
            q.bytes += bytes;
            if (q.bytes >= MAX_QUEUED_BYTES && !q.stopped) q.flow.pause();
            // Handed out once this socket read's rows are parsed: microtasks run between reads.
            if (q.wake !== null) wake();
          },
          q.flow,
        );
        const end = chunk.rows < base.chunkRows;
        const next: SnapshotJobState = end
          ? { ...base, tableIndex: ti + 1, lastKey: null }
          : { ...base, tableIndex: ti, lastKey: chunk.lastKey };
        if (chunk.rows > 0) {
          const commit: TransactionCommit = {
            kind: 'commit',
            position: { lsn, index: index - 1 },
            transactionId: '0',
            timestamp,
            eventCount: chunk.rows,
          };
          if (!only) snap.addAck(commit.position, next);
          snap.progress.add(id, t.name, chunk.rows);
          q.items.push(commit);
          q.committed = q.items.length;
          q.states.push(next);
          q.unfinished++;
        }
        wake();
        if (end) break;
        after = chunk.lastKey;
      }
      snap.progress.finish(id, t.name);
    }
  } catch (err) {
    q.error = err as Error;
  } finally {
    q.end = true;
    wake();
  }
}
