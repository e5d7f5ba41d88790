/**
 * The core sink contract, run against an SQL apply sink. The contract checks delivery by event id, so the harness
 * journals: each event becomes an INSERT of one row (event id, position, canonical JSON) into a journal table,
 * with the event's own position, so checkpoints, held transactions, replays and retries all run through the real
 * sink and the real database. readBack decodes the journal in position order.
 */
import { randomBytes } from 'node:crypto';
import { type Batch, type ChangeEvent, decodeEventJson, encodeEventJson, type Sink } from '@walstream/core';
import { describeSinkContract } from '@walstream/core/testing';
import type { SqlTarget, TargetDatabase } from './target.js';

function journal(e: ChangeEvent, broken: boolean): ChangeEvent {
  return {
    ...e,
    operation: 'INSERT',
    schema: 'public',
    table: 'journal',
    key: { id: e.id },
    before: null,
    after: { id: e.id, lsn: e.position.lsn, idx: e.position.index, body: broken ? null : encodeEventJson(e) },
    unchanged: [],
  };
}

function journaling(inner: Sink, state: { breakNext: boolean }): Sink {
  return {
    name: inner.name,
    open: (ctx) => inner.open?.(ctx) ?? Promise.resolve(),
    close: () => inner.close?.() ?? Promise.resolve(),
    write(batch: Batch, opts) {
      const brk = state.breakNext && batch.events.length > 0;
      state.breakNext = false;
      const events = batch.events.map((e, i) => journal(e, brk && i === batch.events.length - 1));
      return inner.write({ ...batch, events }, opts);
    },
  };
}

/**
 * Describes the contract suite `${sinkName} (journal)`. `journalDdl` creates table `journal (id, lsn, idx, body)`
 * with `id` the primary key and `body` NOT NULL.
 */
export function describeJournalContract(target: SqlTarget, database: () => TargetDatabase, journalDdl: string): void {
  describeSinkContract(
    `${target.sinkName} (journal)`,
    async () => {
      const db = database();
      const checkpointTable = `cp_${randomBytes(3).toString('hex')}`;
      await db.query('DROP TABLE IF EXISTS journal');
      await db.query(journalDdl);
      const state = { breakNext: false };
      const make = () => journaling(target.createSink(db.url, { checkpointTable }), state);
      return {
        sink: make(),
        reopen: async () => make(),
        async readBack() {
          const rows = await db.query<{ body: string }>('SELECT body FROM journal ORDER BY lsn, idx');
          return rows.map((r) => decodeEventJson(r.body));
        },
        faults: {
          // The last row of the next batch violates NOT NULL: the statement fails inside the target transaction.
          failNextWritePartway() {
            state.breakNext = true;
          },
          // A view in place of the checkpoint table: open() cannot read a checkpoint from it.
          async breakOpen() {
            await db.query(`CREATE VIEW ${target.quote(checkpointTable)} AS SELECT 1 AS nothing`);
            return async () => {
              await db.query(`DROP VIEW ${target.quote(checkpointTable)}`);
            };
          },
        },
        async cleanup() {
          // Whichever of the two it is now (DROP VIEW may refuse a table and the other way round).
          await db.query(`DROP VIEW IF EXISTS ${target.quote(checkpointTable)}`).catch(() => {});
          await db.query(`DROP TABLE IF EXISTS ${target.quote(checkpointTable)}`).catch(() => {});
        },
      };
    },
    { idempotent: true },
  );
}
