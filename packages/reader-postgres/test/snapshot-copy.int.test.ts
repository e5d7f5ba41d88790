/**
 * Snapshot chunks are read with COPY ... TO STDOUT (text format) and parsed from CopyData messages. Against
 * the row-by-row SELECT path they replaced, for every type the decoders support and awkward values (tabs,
 * newlines, backslashes, NULL vs '' vs the text '\N'): the same raw texts, the same decoded rows and keys, and
 * keyset paging over awkward text keys (boundaries inlined as literals) visits every row once, in order.
 */
import { createPipeline, DecodeError, type Row } from '@walstream/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { copyOut, splitCopyRow } from '../src/snapshot/copy.js';
import { SNAPSHOT_SESSION } from '../src/snapshot/snapshotter.js';
import {
  chunkSelect,
  copyRows,
  describeTable,
  readChunk,
  rowDecoder,
  type SnapshotTable,
} from '../src/snapshot/table.js';
import { TYPE_QUERY, TypeRegistry } from '../src/types/registry.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { createReplica, diff, dropSlot, replicaRows, sourceRows, until } from './snapshot-helpers.js';

const AWKWARD = [
  "E'tab\\there'",
  "E'new\\nline\\r\\nand cr'",
  "E'back\\\\slash \\\\N \\\\t'",
  "'\\N'",
  "'\\\\N'",
  "'NULL'",
  "''",
  "E'\\b\\f\\x0b\\x01 ctrl'",
  "E'\\\\'",
  "E'trailing backslash\\\\'",
  "'é 😀 ünïcödé'",
];

// [column, type, SQL literals]: each literal becomes one row (other columns NULL).
const CASES: [string, string, string[]][] = [
  ['b', 'boolean', ['true', 'false']],
  ['i2', 'smallint', ['-32768', '32767']],
  ['i4', 'integer', ['-2147483648', '0']],
  ['i8', 'bigint', ['-9223372036854775808', '9223372036854775807']],
  ['n', 'numeric', ["'NaN'", "'Infinity'", '123456789012345678901234567890.000000000123', '-0.5']],
  ['f4', 'real', ["'NaN'", "'Infinity'", "'-0'", '3.4028235e38', '1.1']],
  ['f8', 'double precision', ["'NaN'", "'-Infinity'", "'-0'", '1e-320', '0.1']],
  ['tz', 'timestamptz', ["'infinity'", "'2026-05-03 02:40:00.123456+05:30'", "'0044-03-15 12:00:00 BC'"]],
  ['ts', 'timestamp', ["'2026-05-03 02:40:00.5'", "'0001-01-01 00:00:00 BC'", "'10000-01-01 00:00:00'"]],
  ['d', 'date', ["'2026-05-03'", "'0044-03-15 BC'", "'-infinity'"]],
  ['t', 'time', ["'23:59:59.999999'"]],
  ['tt', 'timetz', ["'23:59:59.5+05:30'"]],
  ['iv', 'interval', ["'1 year 2 mons 3 days 04:05:06.789'", "'-1 day'"]],
  ['u', 'uuid', ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"]],
  ['by', 'bytea', ["'\\x00ff0a095c'", "''"]],
  ['j', 'json', [`'{"n": 12345678901234567890123, "s": "a\\tb\\\\c\\n"}'`, `E'{"raw":\\t"tab"}'`]],
  ['jb', 'jsonb', [`'{"s": "x\\ny", "b": "\\\\"}'`, "'[]'"]],
  ['tx', 'text', AWKWARD],
  ['vc', 'varchar(10)', ["'abc'", "E'a\\tb'"]],
  ['ch', '"char"', ["'a'", "'\\201'", "''"]],
  ['ia', 'integer[]', ["'{1,NULL,3}'", "'{{1,2},{3,4}}'", "'{}'", "'[0:2]={1,2,3}'"]],
  ['ta', 'text[]', [`'{"a,b","NULL",NULL,"q\\"x","back\\\\slash",""}'`, `ARRAY[E'tab\\t', E'nl\\n', '\\N', '']`]],
  ['na', 'numeric[]', ["'{1.5,NaN}'"]],
  ['ba', 'bytea[]', ["ARRAY['\\x00'::bytea, '\\x5c'::bytea]"]],
  ['e', 'mood', ["'happy'"]],
  ['ea', 'mood[]', ["'{sad,happy}'"]],
  ['dm', 'posint', ['42']],
  ['r', 'int4range', ["'[1,10)'", "'empty'"]],
  ['tr', 'tstzrange', ["'[2026-01-01 00:00:00+00,)'"]],
  ['ip', 'inet', ["'192.168.0.1/24'", "'::1'"]],
  ['cp', 'point', ["'(1.5,2)'"]],
  ['mo', 'money', ['1234.5', '-0.05']],
  ['x', 'xml', ["'<a>\t&amp;</a>'"]],
];

let client: pg.Client | null = null;
afterEach(async () => {
  await client?.end();
  client = null;
});

async function connect(url: string): Promise<{ c: pg.Client; types: TypeRegistry }> {
  const c = new pg.Client({ connectionString: url, options: SNAPSHOT_SESSION });
  await c.connect();
  client = c;
  const types = new TypeRegistry();
  types.load((await c.query(TYPE_QUERY, [[]])).rows);
  return { c, types };
}

/** The row-by-row path COPY replaced: a SELECT whose columns come back as the server's text. */
async function selectRaw(c: pg.Client, t: SnapshotTable): Promise<(string | null)[][]> {
  const res = await c.query({
    text: `SELECT ${t.selectList} FROM ${t.from} ORDER BY ${t.orderBy}`,
    rowMode: 'array',
    types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig,
  });
  return res.rows as (string | null)[][];
}

async function copyRaw(c: pg.Client, t: SnapshotTable): Promise<(string | null)[][]> {
  const rows: (string | null)[][] = [];
  await copyOut(c, chunkSelect(t, null, 1_000_000), (line) => rows.push(splitCopyRow(line, t.columns.length)));
  return rows;
}

describe.each(servers())('Postgres $version snapshot COPY reading', ({ url: adminUrl, version }) => {
  it('gives the same texts, rows and keys as a SELECT, for every type and awkward values', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, "CREATE TYPE mood AS ENUM ('sad', 'happy')");
    await sql(url, 'CREATE DOMAIN posint AS integer CHECK (VALUE > 0)');
    await sql(url, `CREATE TABLE zoo (id serial PRIMARY KEY, ${CASES.map(([c, t]) => `${c} ${t}`).join(', ')})`);
    let n = 0;
    for (const [c, , literals] of CASES) {
      for (const lit of literals) {
        await sql(url, `INSERT INTO zoo (${c}) VALUES (${lit})`);
        n++;
      }
    }
    await sql(url, 'INSERT INTO zoo DEFAULT VALUES'); // every column NULL
    const { c, types } = await connect(url);
    const t = await describeTable(c, 'public', 'zoo', 'none', version * 10000);

    const selected = await selectRaw(c, t);
    expect(selected).toHaveLength(n + 1);
    expect(await copyRaw(c, t)).toEqual(selected);

    const decode = rowDecoder(t, types);
    const chunk = await readChunk(c, t, types, null, 1_000_000);
    const rows = selected.map((r) => decode(r));
    expect(chunk.rows).toEqual(rows);
    expect(chunk.keys).toEqual(rows.map((r) => ({ id: r.id })));
    expect(chunk.lastKey).toEqual([String(n + 1)]);
    // NULL, '' and the text '\N' stay apart.
    const tx = chunk.rows.map((r) => r.tx).filter((v) => v !== null);
    expect(tx).toEqual(expect.arrayContaining(['\\N', '\\\\N', 'NULL', '', 'tab\there', 'back\\slash \\N \\t']));
  });

  it('pages awkward text and composite keys with literal boundaries, every row once and in order', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE "we""ird" ("k 1" text, k2 int, v text, PRIMARY KEY ("k 1", k2))');
    for (const [i, lit] of AWKWARD.entries()) {
      await sql(url, `INSERT INTO "we""ird" VALUES (${lit}, ${i % 2}, 'a'), (${lit}, ${(i % 2) + 1}, 'b')`);
    }
    await sql(url, `INSERT INTO "we""ird" VALUES ('it''s', 1, NULL), (E'\\\\''', 1, '')`);
    const { c, types } = await connect(url);
    const t = await describeTable(c, 'public', 'we"ird', 'none', version * 10000);
    const expected = (await selectRaw(c, t)).map((r) => rowDecoder(t, types)(r));
    for (const size of [1, 3]) {
      const got: Row[] = [];
      let after: readonly string[] | null = null;
      for (;;) {
        const chunk = await readChunk(c, t, types, after, size);
        got.push(...chunk.rows);
        if (chunk.rows.length < size) break;
        after = chunk.lastKey;
      }
      expect(got).toEqual(expected);
    }
  });

  it('fails a COPY with a typed error and leaves the connection usable', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE k (id int PRIMARY KEY, b bool)');
    const { c, types } = await connect(url);
    const t = await describeTable(c, 'public', 'k', 'none', version * 10000);
    await expect(copyOut(c, 'SELECT 1/0', () => {})).rejects.toThrow(/division by zero/);
    // Too many columns and too few, without and with an escape in the row (the one-pass split and the other).
    const wrong: [string, RegExp][] = [
      ["SELECT 1, 't', 3", /COPY row has 3 columns, expected 2/],
      ["SELECT 1, E'\\\\', 3", /COPY row has 3 columns, expected 2/],
      ['SELECT 1', /COPY row has 1 columns, expected 2/],
      ['SELECT NULL::int', /COPY row has 1 columns, expected 2/],
    ];
    for (const [select, message] of wrong) {
      await expect(
        copyRows(c, t, types, select, () => {}),
        select,
      ).rejects.toThrow(message);
    }
    // A value its decoder refuses: the error names the column and its type, never the value.
    const refused = await copyRows(c, t, types, "SELECT 1, 'yes-secret'", () => {}).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(DecodeError);
    expect((refused as Error).message).toMatch(/column b \(boolean\) of public\.k/);
    expect((refused as Error).message).not.toContain('secret');
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('with cutOnError a refused row fails the COPY at once and the rest is never read', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE k (id int PRIMARY KEY, b bool)');
    const { c, types } = await connect(url);
    const t = await describeTable(c, 'public', 'k', 'none', version * 10000);
    // Two million rows whose first one the boolean decoder refuses.
    const select = "SELECT g, CASE WHEN g = 1 THEN 'maybe' ELSE 't' END FROM generate_series(1, 2000000) g";
    const refused = await copyRows(c, t, types, select, () => {}, { cutOnError: true }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(DecodeError);
    expect((refused as Error).message).not.toContain('maybe');
    const running = async () =>
      Number(
        (
          await sql(
            url,
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT g,%' AND state = 'active'`,
          )
        ).rows[0].n,
      );
    // Still running on the server, blocked on its socket: the failure did not wait for the rest to be read.
    expect(await running()).toBe(1);
    await c.end();
    await until(async () => (await running()) === 0, 'the COPY to end with its connection', 100);
  });

  it('an initial copy whose session dies part-way continues on demand from its last whole chunk', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text)');
    await sql(url, `INSERT INTO items SELECT g, g % 7, md5(g::text) FROM generate_series(1, 20000) g`);
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'copy_pub',
      tables: ['items'],
      snapshot: { mode: 'initial', chunkRows: 500 },
    });
    const replica = createReplica('items', ['id']);
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const pipeline = createPipeline({
      name: 'copy-lost',
      reader,
      sinks: [{ ...replica, write: async (b) => gate.then(() => replica.write(b)) }],
      batch: { maxEvents: 100, maxBytes: 32 << 10 },
      maxInFlightBytes: 64 << 10,
    });
    await pipeline.start();
    const done = (id: string) =>
      pipeline.status().snapshot.some((t) => t.snapshotId === id && t.table === 'public.items' && t.state === 'done');
    // The sink holds the pipeline (and so the copy, two chunks ahead at most) until the session is gone.
    await until(() => (pipeline.status().snapshot[0]?.rowsDone ?? 0) >= 500, 'part of the copy');
    const killed = await sql(
      url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()`,
    );
    expect(killed.rowCount).toBe(1);
    expect(done('initial')).toBe(false);
    open();
    // The rest goes on as an on-demand snapshot under the same id.
    await until(() => done('initial'), 'the rest');
    await pipeline.stop();
    await dropSlot(url, slot);
    const cols = ['id', 'v', 'pad'];
    expect(diff(await sourceRows(url, 'items', ['id'], cols), replicaRows(replica, ['id'], cols))).toEqual([]);
    expect(replica.rows.size).toBe(20000);
  });
});
