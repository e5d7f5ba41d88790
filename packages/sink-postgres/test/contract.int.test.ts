/**
 * The core sink contract, run against the Postgres apply sink. The contract checks delivery by event id, so the
 * harness journals: each event becomes an INSERT of one row (event id, position, canonical JSON) into a journal
 * table, with the event's own position, so checkpoints, held transactions, replays and retries all run through
 * the real sink and the real database. readBack decodes the journal in position order.
 */
import { randomBytes } from 'node:crypto';
import { type Batch, type ChangeEvent, decodeEventJson, encodeEventJson, type Sink } from '@walstream/core';
import { describeSinkContract } from '@walstream/core/testing';
import { beforeAll } from 'vitest';
import { createPostgresSink } from '../src/index.js';
import { freshDatabase, sql } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await freshDatabase('contract');
});

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

describeSinkContract(
  'postgres (journal)',
  async () => {
    const checkpointTable = `cp_${randomBytes(3).toString('hex')}`;
    await sql(url, 'DROP TABLE IF EXISTS journal');
    await sql(
      url,
      'CREATE TABLE journal (id text PRIMARY KEY, lsn bigint NOT NULL, idx int NOT NULL, body text NOT NULL)',
    );
    const state = { breakNext: false };
    const make = () => journaling(createPostgresSink({ connectionString: url, checkpointTable }), state);
    return {
      sink: make(),
      reopen: async () => make(),
      async readBack() {
        const rows = await sql<{ body: string }>(url, 'SELECT body FROM journal ORDER BY lsn, idx');
        return rows.map((r) => decodeEventJson(r.body));
      },
      faults: {
        // The last row of the next batch violates NOT NULL: the statement fails inside the target transaction.
        failNextWritePartway() {
          state.breakNext = true;
        },
        // A view in place of the checkpoint table: open() cannot read a checkpoint from it.
        async breakOpen() {
          await sql(url, `CREATE VIEW "${checkpointTable}" AS SELECT 1 AS nothing`);
          return async () => {
            await sql(url, `DROP VIEW "${checkpointTable}"`);
          };
        },
      },
      async cleanup() {
        // Whichever of the two it is now (DROP VIEW refuses a table and the other way round).
        await sql(url, `DROP VIEW IF EXISTS "${checkpointTable}"`).catch(() => {});
        await sql(url, `DROP TABLE IF EXISTS "${checkpointTable}"`).catch(() => {});
      },
    };
  },
  { idempotent: true },
);
