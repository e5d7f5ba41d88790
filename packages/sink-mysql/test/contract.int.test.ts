/**
 * The core sink contract, run against the MySQL apply sink. The contract checks delivery by event id, so the
 * harness journals: each event becomes an INSERT of one row (event id, position, canonical JSON) into a journal
 * table, with the event's own position, so checkpoints, held transactions, replays and retries all run through
 * the real sink and the real database. readBack decodes the journal in position order.
 */
import { randomBytes } from 'node:crypto';
import { type Batch, type ChangeEvent, decodeEventJson, encodeEventJson, type Sink } from '@walstream/core';
import { describeSinkContract } from '@walstream/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createMySqlSink } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_contract');
});
afterAll(async () => {
  await db?.drop();
});

function journal(e: ChangeEvent, broken: boolean): ChangeEvent {
  const body = broken ? null : encodeEventJson(e);
  return {
    ...e,
    operation: 'INSERT',
    schema: 'public',
    table: 'journal',
    key: { id: e.id },
    before: null,
    after: { id: e.id, lsn: e.position.lsn, idx: e.position.index, body },
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
  'mysql (journal)',
  async () => {
    const id = randomBytes(3).toString('hex');
    const checkpointTable = `cp_${id}`;
    await db.query('DROP TABLE IF EXISTS journal');
    await db.query(
      'CREATE TABLE journal (id VARCHAR(64) PRIMARY KEY, lsn BIGINT NOT NULL, idx INT NOT NULL, body LONGTEXT NOT NULL)',
    );
    const state = { breakNext: false };
    const make = () => journaling(createMySqlSink({ connectionString: db.url, checkpointTable }), state);
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
          await db.query(`CREATE VIEW \`${checkpointTable}\` AS SELECT 1 AS nothing`);
          return async () => {
            await db.query(`DROP VIEW \`${checkpointTable}\``);
          };
        },
      },
      async cleanup() {
        await db.query(`DROP VIEW IF EXISTS \`${checkpointTable}\``);
        await db.query(`DROP TABLE IF EXISTS \`${checkpointTable}\``);
      },
    };
  },
  { idempotent: true },
);
