/**
 * Hostile names on both sides: a Postgres table and columns whose names hold quotes, backticks, semicolons,
 * spaces and emoji travel through the reader into MariaDB (createTables) and verifyTables reads both sides.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, sql, waitFor } from '../../sink-postgres/test/helpers.js';
import { createMySqlSink, verifyTables } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_hostile');
});
afterAll(async () => {
  await db?.drop();
});

const TABLE = 'Or"d`ers; DROP TABLE x; -- é';
const KEY = 'i"d`';
const COL = "no te'; --";
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

describe('hostile identifiers, Postgres -> MariaDB', () => {
  it('creates, applies and verifies tables and columns with hostile names', async () => {
    const src = await freshDatabase('hostile');
    await sql(src, `CREATE SCHEMA ${q('Sch"ema')}`);
    await sql(src, `CREATE TABLE ${q('Sch"ema')}.${q(TABLE)} (${q(KEY)} int PRIMARY KEY, ${q(COL)} text)`);
    const reader = createPostgresReader({
      connectionString: src,
      slot: 'hostile_slot',
      publication: 'hostile_pub',
      tables: [`${q('Sch"ema')}.${q(TABLE)}`],
    });
    await reader.open();
    await sql(src, `INSERT INTO ${q('Sch"ema')}.${q(TABLE)} SELECT i, 'v' || i FROM generate_series(1, 20) i`);
    await sql(src, `UPDATE ${q('Sch"ema')}.${q(TABLE)} SET ${q(KEY)} = 100 WHERE ${q(KEY)} = 1`);
    await sql(src, `DELETE FROM ${q('Sch"ema')}.${q(TABLE)} WHERE ${q(KEY)} = 2`);
    const pipeline = createPipeline({
      name: 'hostile',
      reader,
      sinks: [createMySqlSink({ connectionString: db.url, createTables: true })],
      batch: { maxWaitMs: 20 },
    });
    await pipeline.start();
    try {
      await waitFor(
        async () => {
          if (pipeline.status().error) throw pipeline.status().error;
          const rows = await db.query(`SELECT COUNT(*) AS n FROM \`${TABLE.replace(/`/g, '``')}\``).catch(() => []);
          return JSON.stringify(rows) === JSON.stringify([{ n: '19' }]);
        },
        60_000,
        'the hostile table in MariaDB',
      );
    } finally {
      await pipeline.stop();
    }
    const v = await verifyTables({
      source: src,
      target: db.url,
      tables: [{ source: { schema: 'Sch"ema', table: TABLE }, target: TABLE }],
    });
    expect(v).toEqual({ equal: true, tables: [{ table: `Sch"ema.${TABLE}`, missing: [], extra: [], different: [] }] });
    const [row] = await db.query(
      `SELECT \`${KEY.replace(/`/g, '``')}\` AS k, \`${COL}\` AS v FROM \`${TABLE.replace(/`/g, '``')}\` WHERE \`${KEY.replace(/`/g, '``')}\` = 100`,
    );
    expect(row).toEqual({ k: 100, v: 'v1' });
  }, 120_000);
});
