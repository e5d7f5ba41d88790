/**
 * Primary keys that mix fixed-size and textual columns: createTables must size the textual ones so the whole
 * key fits InnoDB's 3072-byte index limit (utf8mb4: 4 bytes a character), whatever else the key holds.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, sql, waitFor } from '../../sink-postgres/test/helpers.js';
import { createMySqlSink, verifyTables } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_keys');
});
afterAll(async () => {
  await db?.drop();
});

describe('composite keys, Postgres -> MariaDB', () => {
  it('creates tables whose keys mix numbers, dates and uuids with unbounded text, and verifies doubles exactly', async () => {
    const src = await freshDatabase('keys');
    await sql(src, 'CREATE TABLE lines (order_id int, sku text, qty int, d float8, PRIMARY KEY (order_id, sku))');
    await sql(
      src,
      `CREATE TABLE wide (a bigint, b text, c varchar, d uuid, e date, f numeric(20,4), g timestamptz, v text,
         PRIMARY KEY (a, b, c, d, e, f, g))`,
    );
    const reader = createPostgresReader({
      connectionString: src,
      slot: 'keys_slot',
      publication: 'keys_pub',
      tables: ['lines', 'wide'],
    });
    await reader.open();
    // Doubles whose shortest text MariaDB's text protocol does not print back exactly (90.28571428571429).
    await sql(
      src,
      "INSERT INTO lines SELECT i % 3, 'sku-' || i, i, (i + 631)::float8 / 7 FROM generate_series(1, 30) i",
    );
    await sql(
      src,
      `INSERT INTO wide SELECT i, repeat('b', 200) || i, 'c' || i, gen_random_uuid(), date '2026-01-01' + i, i / 7.0,
         timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', 'v' FROM generate_series(1, 10) i`,
    );
    const pipeline = createPipeline({
      name: 'keys',
      reader,
      sinks: [createMySqlSink({ connectionString: db.url, createTables: true })],
      batch: { maxWaitMs: 20 },
    });
    await pipeline.start();
    try {
      await waitFor(
        async () => {
          if (pipeline.status().error) throw pipeline.status().error;
          const rows = await db
            .query<{ n: string }>('SELECT (SELECT COUNT(*) FROM `lines`) + (SELECT COUNT(*) FROM wide) AS n')
            .catch(() => []);
          return String(rows[0]?.n) === '40';
        },
        60_000,
        'both tables in MariaDB',
      );
    } finally {
      await pipeline.stop();
    }
    const v = await verifyTables({ source: src, target: db.url, tables: ['lines', 'wide'] });
    expect(v.equal).toBe(true);
  }, 120_000);

  it('widens a textual key column to text inside a composite key', async () => {
    const src = await freshDatabase('keys_widen');
    await sql(src, 'CREATE TABLE parts (maker int, code varchar(10), PRIMARY KEY (maker, code))');
    const reader = createPostgresReader({
      connectionString: src,
      slot: 'widen_slot',
      publication: 'widen_pub',
      tables: ['parts'],
    });
    await reader.open();
    await sql(src, "INSERT INTO parts VALUES (1, 'short')");
    const pipeline = createPipeline({
      name: 'widen',
      reader,
      sinks: [createMySqlSink({ connectionString: db.url, createTables: true })],
      batch: { maxWaitMs: 20 },
    });
    await pipeline.start();
    const rows = async () => {
      if (pipeline.status().error) throw pipeline.status().error;
      const r = await db.query<{ n: string }>('SELECT COUNT(*) AS n FROM parts').catch(() => []);
      return Number(r[0]?.n ?? 0);
    };
    try {
      await waitFor(async () => (await rows()) === 1, 60_000, 'the first row');
      await sql(src, 'ALTER TABLE parts ALTER COLUMN code TYPE text');
      await sql(src, `INSERT INTO parts VALUES (1, repeat('x', 300))`);
      await waitFor(async () => (await rows()) === 2, 60_000, 'the row after the widening');
    } finally {
      await pipeline.stop();
    }
    expect((await verifyTables({ source: src, target: db.url, tables: ['parts'] })).equal).toBe(true);
  }, 120_000);
});
