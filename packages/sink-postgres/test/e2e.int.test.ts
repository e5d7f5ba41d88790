/**
 * Postgres -> Postgres through the reader and the pipeline: every common type arrives exactly (compared as
 * to_json of each row and by verifyTables), and a target connection terminated again and again mid-run
 * (pg_terminate_backend, shared/cut-scenario.ts) is retried without losing anything.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { describe, expect, it } from 'vitest';
import { createPostgresSink, verifyTables } from '../src/index.js';
import { freshDatabase, prepareSlot, sql, waitFor } from './helpers.js';
import { retriesAfterItsSessionsAreKilled } from './shared/cut-scenario.js';
import { useTargetDatabase } from './shared/target.js';
import { postgresTarget as target } from './target.js';

const DDL = `CREATE TYPE mood AS ENUM ('sad', 'happy 😀');
CREATE TABLE zoo (id bigint PRIMARY KEY, i2 smallint, i4 integer, n numeric(12,4), nu numeric, f4 real,
  f8 double precision, b boolean, t text, vc varchar(20), c char(3), by bytea, u uuid, j json, jb jsonb,
  tz timestamptz, ts timestamp(3), d date, tm time, iv interval, arr int[], tarr text[], m mood, "we""ird col" text)`;
const ROWS = [
  `(9223372036854775807, -32768, 2147483647, -99999999.9999, 'NaN', 'NaN', '-Infinity', true, 'emoji 😀 \\ "q"', 'ñ',
    'ab', '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"big": 12345678901234567890}',
    'infinity', '2026-01-02 03:04:05.678', '-infinity', '24:00:00', '1 year -2 days 00:00:01.5', '{1,NULL,3}',
    '{"a,b","q\\"uote",NULL}', 'happy 😀', 'x')`,
  `(-9223372036854775808, 32767, -2147483648, 0, '123456789012345678901234567890.000000000000000000000000000000000001',
    '-0', 1e308, false, '', 'x', 'xyz', '\\x', '00000000-0000-0000-0000-000000000000', 'null', '[]',
    '0044-03-15 12:00:00+00 BC', '0001-01-01 00:00:00', '5874897-12-31', '00:00:00', '0', '{{1,2},{3,4}}', '{}', 'sad', NULL)`,
];

async function pipelineTo(src: string, slot: string, dst: string) {
  const pipeline = createPipeline({
    name: slot,
    reader: createPostgresReader({ connectionString: src, slot, publication: slot }),
    sinks: [createPostgresSink({ connectionString: dst, createTables: true })],
    batch: { maxEvents: 50, maxWaitMs: 10 },
    retry: { maxAttempts: 50, initialDelayMs: 20, maxDelayMs: 200 },
  });
  await pipeline.start();
  return pipeline;
}

const cutTarget = useTargetDatabase(target, 'cut_dst');

describe('Postgres -> Postgres', () => {
  it('keeps every value exact, hostile column names included, and verifyTables agrees', async () => {
    const src = await freshDatabase('e2e_src');
    const dst = await freshDatabase('e2e_dst');
    await sql(src, DDL);
    await prepareSlot(src, 'e2e_slot', ['zoo']);
    for (const r of ROWS) await sql(src, `INSERT INTO zoo VALUES ${r}`);
    await sql(src, 'INSERT INTO zoo (id) VALUES (0)');
    const pipeline = await pipelineTo(src, 'e2e_slot', dst);
    const rows = (url: string) => sql<{ j: string }>(url, 'SELECT to_json(z)::text AS j FROM zoo z ORDER BY id');
    try {
      const want = await rows(src);
      await waitFor(
        async () => {
          if (pipeline.status().error) throw pipeline.status().error;
          return (await rows(dst).catch(() => [])).length === 3;
        },
        60_000,
        'three rows in the target',
      );
      // The enum column arrives as text (createTables makes user-defined types text); its JSON is the same.
      expect(await rows(dst)).toEqual(want);
    } finally {
      await pipeline.stop();
    }
    expect(await verifyTables({ source: src, target: dst, tables: ['zoo'] })).toEqual({
      equal: true,
      tables: [{ table: 'public.zoo', missing: [], extra: [], different: [] }],
    });
  }, 120_000);

  it(
    'retries after pg_terminate_backend of its target session and loses nothing',
    () => retriesAfterItsSessionsAreKilled(target, cutTarget()),
    120_000,
  );
});

describe('verifyTables (Postgres -> Postgres)', () => {
  it('reports missing, extra and different keys, never values', async () => {
    const src = await freshDatabase('v_src');
    const dst = await freshDatabase('v_dst');
    for (const u of [src, dst]) {
      await sql(u, 'CREATE TABLE t (id bigint PRIMARY KEY, v text, n numeric)');
      await sql(u, "INSERT INTO t SELECT i, 'v' || i, i / 7.0 FROM generate_series(1, 1500) i");
    }
    expect((await verifyTables({ source: src, target: dst, tables: ['t'], chunkSize: 400 })).equal).toBe(true);
    await sql(dst, 'DELETE FROM t WHERE id = 3');
    await sql(dst, "INSERT INTO t VALUES (9223372036854775807, 'x', 1)");
    await sql(dst, "UPDATE t SET v = 'changed-secret' WHERE id = 1200");
    await sql(dst, 'UPDATE t SET n = n + 0.000000000000000000001 WHERE id = 401');
    const r = await verifyTables({ source: src, target: dst, tables: ['public.t'], chunkSize: 400 });
    expect(r).toEqual({
      equal: false,
      tables: [
        { table: 'public.t', missing: [['3']], extra: [['9223372036854775807']], different: [['401'], ['1200']] },
      ],
    });
    expect(JSON.stringify(r)).not.toContain('changed-secret');
  }, 60_000);
});
