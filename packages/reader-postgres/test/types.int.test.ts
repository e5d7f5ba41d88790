/**
 * Type round trip: every value walstream decodes equals Postgres' own rendering of it (`::text`; for
 * timestamps the ISO 8601 form of `to_json`), in text and binary pgoutput modes.
 */
import { type ChangeEvent, RawJson, type Value } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, servers, slotName, sql } from './helpers.js';

// [column, type, SQL literals]: each literal becomes one row.
const CASES: [string, string, string[]][] = [
  ['b', 'boolean', ['true', 'false']],
  ['i2', 'smallint', ['-32768', '32767']],
  ['i4', 'integer', ['-2147483648', '0']],
  ['i8', 'bigint', ['-9223372036854775808', '9223372036854775807']],
  ['n', 'numeric', ["'NaN'", "'Infinity'", "'-Infinity'", '123456789012345678901234567890.000000000123', '-0.5', '0']],
  ['f4', 'real', ["'NaN'", "'Infinity'", "'-0'", '3.4028235e38', '1.1']],
  ['f8', 'double precision', ["'NaN'", "'-Infinity'", "'-0'", '1e-320', '0.1', '1.7976931348623157e308']],
  [
    'tz',
    'timestamptz',
    [
      "'infinity'",
      "'-infinity'",
      "'2026-05-03 02:40:00.123456+05:30'",
      "'0044-03-15 12:00:00 BC'",
      "'2000-01-01 00:00:00+00'",
      "'12345-06-07 08:09:10.5+00'",
    ],
  ],
  ['ts', 'timestamp', ["'2026-05-03 02:40:00.5'", "'0001-01-01 00:00:00 BC'", "'infinity'", "'10000-01-01 00:00:00'"]],
  ['d', 'date', ["'2026-05-03'", "'0044-03-15 BC'", "'-infinity'", "'10000-01-01'"]],
  ['t', 'time', ["'23:59:59.999999'", "'00:00:00'"]],
  ['iv', 'interval', ["'1 year 2 mons 3 days 04:05:06.789'", "'-1 day'"]],
  ['u', 'uuid', ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"]],
  ['by', 'bytea', ["'\\x00ff10'", "''"]],
  ['j', 'json', [`'{"n": 12345678901234567890123, "a": [1, 2.50]}'`]],
  ['jb', 'jsonb', [`'{"n": 12345678901234567890123, "s": "x"}'`, "'[]'"]],
  ['tx', 'text', ["'quote '' and \"dq\" \\ backslash, é 😀'", "''"]],
  ['vc', 'varchar(10)', ["'abc'"]],
  ['ia', 'integer[]', ["'{1,NULL,3}'", "'{{1,2},{3,4}}'", "'{}'"]],
  ['ib', 'integer[]', ["'[0:2]={1,2,3}'", "'[2:3][1:1]={{5},{NULL}}'"]],
  ['ta', 'text[]', [`'{"a,b","NULL",NULL,"q\\"x","back\\\\slash",""}'`]],
  ['na', 'numeric[]', ["'{1.5,NaN}'"]],
  ['e', 'mood', ["'happy'"]],
  ['ea', 'mood[]', ["'{sad,happy}'"]],
  ['dm', 'posint', ['42']],
  ['r', 'int4range', ["'[1,10)'", "'empty'"]],
  ['tr', 'tstzrange', ["'[2026-01-01 00:00:00+00,)'"]],
  ['ip', 'inet', ["'192.168.0.1/24'", "'::1'"]],
  ['cp', 'point', ["'(1.5,2)'"]],
  ['ch', '"char"', ["'a'", "'\\201'", "''"]],
  ['mo', 'money', ['1234.5', '-0.05', '92233720368547758.07']],
];

const ISO_TYPES = new Set(['timestamptz', 'timestamp']);

/** Postgres' rendering to compare with: `::text`, to_json's ISO 8601 for timestamps, and the output function
 * for inet (whose `::text` cast always adds the netmask, which the output function and pgoutput omit). */
function pgRendering(c: string, t: string): string {
  if (ISO_TYPES.has(t)) return `to_json(${c})#>>'{}'`;
  if (t === 'money') return `${c}::numeric::text`; // walstream gives money as a plain decimal, whatever the locale
  if (t === 'inet') return `CASE WHEN ${c} IS NULL THEN NULL ELSE format('%s', ${c}) END`;
  return `${c}::text`;
}

/** The decoded value written back as Postgres text, for comparison with `::text`. */
function toPgText(v: Value, type: string): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) return `{${v.map((x) => arrayElement(x as Value)).join(',')}}`;
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  if (v instanceof RawJson) return v.text;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (type === 'real' || type === 'double precision') return String(v);
  return String(v);
}

function arrayElement(v: Value): string {
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return toPgText(v, '') as string;
  const s = String(v);
  return s === '' || /[{},"\\\s]/.test(s) || s.toUpperCase() === 'NULL' ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
}

describe.each(servers())('Postgres $version types', ({ url: adminUrl }) => {
  for (const binary of [false, true]) {
    it(`decodes every type exactly in ${binary ? 'binary' : 'text'} mode`, async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, "CREATE TYPE mood AS ENUM ('sad', 'happy')");
      await sql(url, 'CREATE DOMAIN posint AS integer CHECK (VALUE > 0)');
      const cases = binary ? CASES.filter(([, type]) => BINARY_OK.has(type)) : CASES;
      const cols = cases.map(([c, t]) => `${c} ${t}`).join(', ');
      await sql(url, `CREATE TABLE zoo (id serial PRIMARY KEY, ${cols})`);
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'types_pub',
        tables: ['zoo'],
        binary,
      });
      try {
        await reader.open();
        let rows = 0;
        for (const [c, , literals] of cases) {
          for (const lit of literals) {
            await sql(url, `INSERT INTO zoo (${c}) VALUES (${lit})`);
            rows++;
          }
        }
        const items = await collect(reader.read(), (xs) => commits(xs).length === rows);
        const evs = events(items) as ChangeEvent[];
        const expected = await sql(
          url,
          `SELECT id, ${cases.map(([c, t]) => `${pgRendering(c, t)} AS ${c}`).join(', ')} FROM zoo ORDER BY id`,
        );
        expect(evs).toHaveLength(expected.rows.length);
        let compared = 0;
        for (const [i, row] of expected.rows.entries()) {
          const after = (evs[i] as ChangeEvent).after as Record<string, Value>;
          for (const [c, type] of cases) {
            const pgText = row[c] as string | null;
            if (pgText === null) {
              expect(after[c], `${c} should be null`).toBeNull();
              continue;
            }
            const got = after[c] as Value;
            const where = `${type} column ${c}, row ${i}`;
            if (type === 'real' || type === 'double precision') {
              expect(
                Object.is(got, Number(pgText)) || (Number.isNaN(got as number) && pgText === 'NaN'),
                `${where}: ${String(got)} vs ${pgText}`,
              ).toBe(true);
              if (type === 'double precision')
                expect(Object.is(got, Number(pgText)) || pgText === 'NaN', where).toBe(true);
            } else if (type === 'bigint') {
              expect(got, where).toBe(BigInt(pgText));
            } else if (type === 'integer' || type === 'smallint' || type === 'posint') {
              expect(got, where).toBe(Number(pgText));
            } else {
              expect(toPgText(got, type), where).toBe(pgText);
            }
            compared++;
          }
        }
        expect(compared).toBeGreaterThanOrEqual(cases.reduce((n, [, , l]) => n + l.length, 0));
      } finally {
        await reader.close();
      }
    });
  }
});

// Types with a binary decoder; the others fail loudly in binary mode (tested in errors.int.test.ts).
const BINARY_OK = new Set([
  'boolean',
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'timestamptz',
  'timestamp',
  'date',
  'time',
  'uuid',
  'bytea',
  'json',
  'jsonb',
  'text',
  'varchar(10)',
  'integer[]',
  'text[]',
  'numeric[]',
  'mood',
  'mood[]',
  'posint',
  '"char"',
  'money',
]);
