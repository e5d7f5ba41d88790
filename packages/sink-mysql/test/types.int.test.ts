/**
 * Every mapped type, value by value: rows written in Postgres travel through the reader and the pipeline into
 * MariaDB (createTables), and each stored value equals the reference conversion written out here by hand.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, prepareSlot, sql, waitFor } from '../../sink-postgres/test/helpers.js';
import { createMySqlSink, verifyTables } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_types');
});
afterAll(async () => {
  await db?.drop();
});

const DDL = `CREATE TYPE mood AS ENUM ('sad', 'happy 😀');
CREATE TABLE zoo (id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(12,4), nu numeric, f4 real,
  f8 double precision, b boolean, t text, vc varchar(20), c char(3), by bytea, u uuid, j json, jb jsonb,
  tz timestamptz, ts timestamp, d date, tm time, iv interval, arr int[], tarr text[], m mood)`;

// [column, Postgres literal for row 1, for row 2]
const ROWS: Record<string, [string, string]> = {
  i2: ['-32768', '32767'],
  i4: ['-2147483648', '2147483647'],
  i8: ['-9223372036854775808', '9223372036854775807'],
  n: ['-99999999.9999', '99999999.9999'],
  nu: ['12345678901234567890123456789012345.123456789012345678901234567890', '0.000000000000000000000000000001'],
  f4: ['-3.4028235e38', '1.1'],
  f8: ['-1.7976931348623157e308', '0.1'],
  b: ['false', 'true'],
  t: ["''", "'emoji 😀 𝄞 é'"],
  vc: ["'x'", "'ñandú'"],
  c: ["'ab'", "'xyz'"],
  by: ["'\\x00ff'", "'\\x0a0d5c27'"],
  u: ["'00000000-0000-0000-0000-000000000000'", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"],
  j: [`'{"a":1}'`, `'[1, "x", null]'`],
  jb: [`'{"big": 12345678901234567890}'`, `'{}'`],
  tz: ["'2026-05-03 02:40:00.123456+05:30'", "'9999-12-31 23:59:59.999999+00'"],
  ts: ["'0001-01-01 00:00:00'", "'2026-01-02 03:04:05.6'"],
  d: ["'1000-01-01'", "'9999-12-31'"],
  tm: ["'00:00:00'", "'23:59:59.999999'"],
  iv: ["'1 year 2 mons 3 days 04:05:06.5'", "'-1 days +02:00:00'"],
  arr: ["'{1,NULL,3}'", "'{{1,2},{3,4}}'"],
  tarr: [`'{"a,b","q\\"uote"}'`, "'{}'"],
  m: ["'sad'", "'happy 😀'"],
};

// The reference conversion: what MariaDB must hold (read with bigNumberStrings, dateStrings, JSON as text,
// FLOAT read as CAST(... AS DOUBLE) so its float32 value is exact).
const EXPECTED = [
  {
    id: 1,
    i2: -32768,
    i4: -2147483648,
    i8: '-9223372036854775808',
    n: '-99999999.9999',
    nu: '12345678901234567890123456789012345.123456789012345678901234567890',
    f4: Math.fround(-3.4028235e38),
    f8: -1.7976931348623157e308,
    b: 0,
    t: '',
    vc: 'x',
    c: 'ab',
    by: Buffer.from([0x00, 0xff]),
    u: '00000000-0000-0000-0000-000000000000',
    j: '{"a":1}',
    jb: '{"big": 12345678901234567890}',
    tz: '2026-05-02 21:10:00.123456',
    ts: '0001-01-01 00:00:00.000000',
    d: '1000-01-01',
    tm: '00:00:00.000000',
    iv: '1 year 2 mons 3 days 04:05:06.5',
    arr: '[1,null,3]',
    tarr: '["a,b","q\\"uote"]',
    m: 'sad',
  },
  {
    id: 2,
    i2: 32767,
    i4: 2147483647,
    i8: '9223372036854775807',
    n: '99999999.9999',
    nu: '0.000000000000000000000000000001',
    f4: Math.fround(1.1),
    f8: 0.1,
    b: 1,
    t: 'emoji 😀 𝄞 é',
    vc: 'ñandú',
    c: 'xyz',
    by: Buffer.from([0x0a, 0x0d, 0x5c, 0x27]),
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    j: '[1, "x", null]',
    jb: '{}',
    tz: '9999-12-31 23:59:59.999999',
    ts: '2026-01-02 03:04:05.600000',
    d: '9999-12-31',
    tm: '23:59:59.999999',
    iv: '-1 days +02:00:00',
    arr: '[[1,2],[3,4]]',
    tarr: '[]',
    m: 'happy 😀',
  },
];

const EXPECTED_TYPES: Record<string, string> = {
  id: 'int(11)',
  i2: 'smallint(6)',
  i4: 'int(11)',
  i8: 'bigint(20)',
  n: 'decimal(12,4)',
  nu: 'decimal(65,30)',
  f4: 'float',
  f8: 'double',
  b: 'tinyint(1)',
  t: 'longtext',
  vc: 'varchar(20)',
  c: 'char(3)',
  by: 'longblob',
  u: 'char(36)',
  j: 'longtext',
  jb: 'longtext',
  tz: 'datetime(6)',
  ts: 'datetime(6)',
  d: 'date',
  tm: 'time(6)',
  iv: 'varchar(64)',
  arr: 'longtext',
  tarr: 'longtext',
  m: 'longtext',
};

describe('Postgres -> MariaDB types', () => {
  it('stores every mapped type exactly as the reference conversion says, and verifyTables agrees', async () => {
    const src = await freshDatabase('types');
    await sql(src, DDL);
    await prepareSlot(src, 'types_slot', ['zoo']);
    const cols = Object.keys(ROWS);
    for (const i of [0, 1]) {
      await sql(
        src,
        `INSERT INTO zoo (id, ${cols.join(', ')}) VALUES (${i + 1}, ${cols.map((c) => (ROWS[c] as string[])[i]).join(', ')})`,
      );
    }
    await sql(src, 'INSERT INTO zoo (id) VALUES (3)');
    const pipeline = createPipeline({
      name: 'types',
      reader: createPostgresReader({
        connectionString: src,
        slot: 'types_slot',
        publication: 'types_slot',
        tables: ['zoo'],
      }),
      sinks: [createMySqlSink({ connectionString: db.url, createTables: true })],
      batch: { maxWaitMs: 20 },
    });
    await pipeline.start();
    try {
      await waitFor(
        async () => {
          const st = pipeline.status();
          if (st.error) throw st.error;
          const t = await db.query<{ n: string }>(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'zoo'",
          );
          return t[0]?.n === '1' && (await db.query('SELECT id FROM zoo')).length === 3;
        },
        60_000,
        'three rows in MariaDB',
      );
    } finally {
      await pipeline.stop();
    }
    const types = await db.query<{ name: string; type: string }>(
      "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'zoo'",
    );
    expect(Object.fromEntries(types.map((t) => [t.name, t.type.replace(/ .*/, '')]))).toEqual(EXPECTED_TYPES);
    const select = ['id', ...cols].map((c) => (c === 'f4' ? 'CAST(f4 AS DOUBLE) AS f4' : `\`${c}\``)).join(', ');
    const conn = await mysql.createConnection({
      uri: db.url,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      jsonStrings: true,
    });
    try {
      const [rows] = await conn.query(`SELECT ${select} FROM zoo ORDER BY id`);
      const got = rows as Record<string, unknown>[];
      for (const [i, want] of EXPECTED.entries()) {
        for (const [c, v] of Object.entries(want))
          expect({ column: c, value: got[i]?.[c] }).toEqual({ column: c, value: v });
      }
      expect(Object.values(got[2] ?? {}).filter((v) => v !== null)).toEqual([3]);
    } finally {
      await conn.end();
    }
    const v = await verifyTables({ source: src, target: db.url, tables: ['zoo'] });
    expect(v).toEqual({ equal: true, tables: [{ table: 'public.zoo', missing: [], extra: [], different: [] }] });
  }, 120_000);
});
