import type { Batch, ChangeEvent, ColumnSchema, SchemaChange, TableSchema } from '@walstream/core';
import { silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, createMySqlSink } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const ctx = (pipeline = 'p') => ({ pipeline, logger: silentLogger, signal: new AbortController().signal });
const opts = { signal: new AbortController().signal };

function col(name: string, type: string, key = false, typeModifier = -1): ColumnSchema {
  return { name, type, typeOid: 0, typeModifier, key };
}
function schemaOf(
  table: string,
  columns: ColumnSchema[],
  previous: TableSchema | null = null,
  lsn = 0x10n,
): SchemaChange {
  return {
    kind: 'schema',
    position: { lsn, index: 0 },
    schema: { schema: 'public', table, relationId: 1, replicaIdentity: 'default', columns },
    previous,
  };
}
let seq = 0;
function batch(events: ChangeEvent[], opts2: { commit?: boolean; schema?: SchemaChange[] } = {}): Batch {
  const byLsn = new Map<bigint, ChangeEvent>();
  for (const e of events) byLsn.set(e.position.lsn, e);
  const commits =
    opts2.commit === false ? [] : [...byLsn.values()].map((e) => commitOf(e.position.lsn, e.position.index + 1));
  return { seq: ++seq, events, commits, schemaChanges: opts2.schema ?? [], bytes: events.length * 100 };
}
const ev = (
  table: string,
  lsn: bigint,
  index: number,
  operation: ChangeEvent['operation'],
  after: Record<string, never> | Record<string, unknown> | null,
  extra: Partial<ChangeEvent> = {},
) =>
  makeEvent({
    table,
    lsn,
    index,
    operation,
    after: after as never,
    key: (after ? { id: (after as { id: never }).id } : extra.key) as never,
    ...extra,
  });

describe('MySQL apply', () => {
  const cols = [col('id', 'integer', true), col('name', 'text'), col('n', 'integer'), col('big', 'text')];

  it('applies insert, update, delete, primary-key change, unchanged TOAST columns and TRUNCATE', async () => {
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('ops'));
    await sink.write(
      batch(
        [
          ev('ops', 0x100n, 0, 'INSERT', { id: 1, name: 'a', n: 0, big: 'toast-1' }),
          ev('ops', 0x100n, 1, 'INSERT', { id: 2, name: 'b', n: 0, big: 'toast-2' }),
          ev('ops', 0x100n, 2, 'INSERT', { id: 3, name: 'c', n: 0, big: 'toast-3' }),
        ],
        { schema: [schemaOf('ops', cols)] },
      ),
      opts,
    );
    await sink.write(
      batch([
        // TOAST column unchanged: absent from after, listed in unchanged.
        ev('ops', 0x200n, 0, 'UPDATE', { id: 1, name: 'a2', n: 1 }, { unchanged: ['big'] }),
        ev('ops', 0x200n, 1, 'UPDATE', { id: 1, name: 'a3', n: 2 }, { unchanged: ['big'] }),
        // Primary-key change 2 -> 20 with an unchanged TOAST column: the target's old value moves along.
        ev('ops', 0x200n, 2, 'UPDATE', { id: 20, name: 'b', n: 1 }, { unchanged: ['big'], before: { id: 2 } }),
        ev('ops', 0x200n, 3, 'DELETE', null, { key: { id: 3 }, before: { id: 3 } }),
        ev('ops', 0x200n, 4, 'INSERT', { id: 4, name: 'd', n: 0, big: null }),
      ]),
      opts,
    );
    expect(await db.query('SELECT id, name, n, big FROM ops ORDER BY id')).toEqual([
      { id: 1, name: 'a3', n: 2, big: 'toast-1' },
      { id: 4, name: 'd', n: 0, big: null },
      { id: 20, name: 'b', n: 1, big: 'toast-2' },
    ]);
    // Delete and re-insert the same key in one transaction, then TRUNCATE followed by an insert.
    await sink.write(
      batch([
        ev('ops', 0x300n, 0, 'DELETE', null, { key: { id: 4 }, before: { id: 4 } }),
        ev('ops', 0x300n, 1, 'INSERT', { id: 4, name: 'd2', n: 5, big: 'x' }),
      ]),
      opts,
    );
    expect(await db.query('SELECT name FROM ops WHERE id = 4')).toEqual([{ name: 'd2' }]);
    await sink.write(
      batch([
        ev('ops', 0x400n, 0, 'TRUNCATE', null, { key: null }),
        ev('ops', 0x400n, 1, 'INSERT', { id: 9, name: 'z', n: 0, big: 'y' }),
      ]),
      opts,
    );
    expect(await db.query('SELECT id FROM ops')).toEqual([{ id: 9 }]);
    const [cp] = await db.query<{ position: string; pipeline: string; sink: string }>(
      'SELECT pipeline, sink, position FROM walstream_checkpoints WHERE pipeline = ?',
      ['ops'],
    );
    expect(cp).toEqual({ pipeline: 'ops', sink: 'mysql', position: '0/400:1' });
    await sink.close?.();
  });

  it('skips events at or before the checkpoint after a restart (a replayed older update does not win)', async () => {
    const make = () => createMySqlSink({ connectionString: db.url, createTables: true });
    let sink = make();
    await sink.open?.(ctx('replay'));
    const b1 = batch([ev('counter', 0x100n, 0, 'INSERT', { id: 1, name: 'x', n: 1, big: null })], {
      schema: [schemaOf('counter', cols)],
    });
    const b2 = batch([ev('counter', 0x200n, 0, 'UPDATE', { id: 1, name: 'x', n: 2, big: null })]);
    await sink.write(b1, opts);
    await sink.write(b2, opts);
    await sink.close?.();
    sink = make();
    await sink.open?.(ctx('replay'));
    expect(sink.position).toEqual({ lsn: 0x200n, index: 0 });
    await sink.write(b1, opts);
    expect(await db.query('SELECT n FROM counter')).toEqual([{ n: 2 }]);
    await sink.write(batch([ev('counter', 0x300n, 0, 'UPDATE', { id: 1, name: 'x', n: 3, big: null })]), opts);
    expect(await db.query('SELECT n FROM counter')).toEqual([{ n: 3 }]);
    await sink.close?.();
  });

  it('holds a transaction that spans batches until its commit, and never splits it', async () => {
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('span'));
    await sink.write(
      batch([ev('span', 0x50n, 0, 'INSERT', { id: 0, name: 'z', n: 0, big: null })], {
        schema: [schemaOf('span', cols)],
      }),
      opts,
    );
    await sink.write(
      batch([ev('span', 0x100n, 0, 'INSERT', { id: 1, name: 'a', n: 0, big: null })], { commit: false }),
      opts,
    );
    expect(await db.query('SELECT id FROM span')).toEqual([{ id: 0 }]);
    await sink.write(batch([ev('span', 0x100n, 1, 'INSERT', { id: 2, name: 'b', n: 0, big: null })]), opts);
    expect(await db.query('SELECT id FROM span ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }]);
    await sink.close?.();
  });

  it('applies ADD COLUMN, DROP COLUMN and widening, or stops with a SCHEMA error when told to', async () => {
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('schema'));
    const v1 = schemaOf('evolve', [col('id', 'integer', true), col('small', 'smallint'), col('gone', 'text')]);
    await sink.write(
      batch([ev('evolve', 0x100n, 0, 'INSERT', { id: 1, small: 7, gone: 'bye' })], { schema: [v1] }),
      opts,
    );
    // DROP COLUMN with a widening, then (a later relation message) ADD COLUMN.
    const v1b = schemaOf('evolve', [col('id', 'integer', true), col('small', 'bigint')], v1.schema, 0x200n);
    const v2 = schemaOf(
      'evolve',
      [col('id', 'integer', true), col('small', 'bigint'), col('extra', 'text')],
      v1b.schema,
      0x200n,
    );
    await sink.write(
      batch([ev('evolve', 0x200n, 0, 'INSERT', { id: 2, small: 9007199254740993n, extra: 'new' })], {
        schema: [v1b, v2],
      }),
      opts,
    );
    expect(await db.query('SELECT id, small, extra FROM evolve ORDER BY id')).toEqual([
      { id: 1, small: '7', extra: null },
      { id: 2, small: '9007199254740993', extra: 'new' },
    ]);
    const renamed = schemaOf(
      'evolve',
      [col('id', 'integer', true), col('small', 'bigint'), col('extra2', 'text')],
      v2.schema,
      0x250n,
    );
    await expect(sink.write(batch([], { schema: [renamed] }), opts)).rejects.toThrow(/a rename\?/);
    expect(await db.query('SELECT extra FROM evolve ORDER BY id')).toEqual([{ extra: null }, { extra: 'new' }]);
    const narrowing = schemaOf(
      'evolve',
      [col('id', 'integer', true), col('small', 'integer'), col('extra', 'text')],
      v2.schema,
      0x300n,
    );
    await expect(sink.write(batch([], { schema: [narrowing] }), opts)).rejects.toMatchObject({ reason: 'SCHEMA' });
    await sink.close?.();

    const strict = createMySqlSink({ connectionString: db.url, onSchemaChange: 'error' });
    await strict.open?.(ctx('schema-strict'));
    const v3 = schemaOf('evolve', [...v2.schema.columns, col('more', 'text')], v2.schema, 0x400n);
    const err = await strict.write(batch([], { schema: [v3] }), opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).reason).toBe('SCHEMA');
    expect((err as ApplyError).retriable).toBe(false);
    expect(
      await db.query(
        "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'evolve' AND COLUMN_NAME = 'more'",
      ),
    ).toEqual([{ n: '0' }]);
    await strict.close?.();
  });

  it('quotes hostile identifiers and rejects names over 64 characters', async () => {
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('hostile'));
    const table = 'we`ird"; DROP TABLE x; --';
    const hostile = [col('i`d', 'integer', true), col('it\'s "quoted"', 'text'), col('sp ace\\', 'text')];
    await sink.write(
      batch(
        [
          ev(
            table,
            0x100n,
            0,
            'INSERT',
            { 'i`d': 1, 'it\'s "quoted"': 'q', 'sp ace\\': 's' },
            { key: { 'i`d': 1 } as never },
          ),
        ],
        {
          schema: [schemaOf(table, hostile)],
        },
      ),
      opts,
    );
    await sink.write(batch([ev(table, 0x200n, 0, 'DELETE', null, { key: { 'i`d': 1 } as never })]), opts);
    await sink.write(
      batch([
        ev(
          table,
          0x300n,
          0,
          'INSERT',
          { 'i`d': 2, 'it\'s "quoted"': 'r', 'sp ace\\': 't' },
          { key: { 'i`d': 2 } as never },
        ),
      ]),
      opts,
    );
    expect(await db.query('SELECT * FROM `we``ird"; DROP TABLE x; --`')).toEqual([
      { 'i`d': 2, 'it\'s "quoted"': 'r', 'sp ace\\': 't' },
    ]);
    const long = 'x'.repeat(65);
    const err = await sink
      .write(
        batch([ev(long, 0x400n, 0, 'INSERT', { id: 1 })], { schema: [schemaOf(long, [col('id', 'integer', true)])] }),
        opts,
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'IDENTIFIER' });
    expect(String((err as Error).message)).toMatch(/65 characters; MySQL allows 1 to 64/);
    const emoji = await sink
      .write(
        batch([ev('t😀', 0x500n, 0, 'INSERT', { id: 1 })], { schema: [schemaOf('t😀', [col('id', 'integer', true)])] }),
        opts,
      )
      .catch((e: unknown) => e);
    expect(emoji).toMatchObject({ reason: 'IDENTIFIER' });
    expect(String((emoji as Error).message)).toMatch(/beyond U\+FFFF/);
    await sink.close?.();
  });
});

describe('MySQL errors', () => {
  it('a clash on a secondary unique index fails loudly instead of overwriting another row, with no value in the message', async () => {
    await db.query('CREATE TABLE uniq (id INT PRIMARY KEY, email VARCHAR(100), UNIQUE KEY (email))');
    const sink = createMySqlSink({ connectionString: db.url });
    await sink.open?.(ctx('uniq'));
    const err = await sink
      .write(
        batch([
          ev('uniq', 0x100n, 0, 'INSERT', { id: 1, email: 'secret-value@example.test' }),
          ev('uniq', 0x100n, 1, 'INSERT', { id: 2, email: 'secret-value@example.test' }),
        ]),
        opts,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain('secret-value');
    expect(String((err as Error).message)).toMatch(/ER_BAD_NULL_ERROR|ER_DUP_ENTRY/);
    expect(await db.query('SELECT id, email FROM uniq')).toEqual([]);
    await sink.close?.();
  });
});

describe('MySQL apply, snapshot chunks', () => {
  it('several commits at one LSN (snapshot chunks) each checkpoint only their own rows', async () => {
    const cols = [col('id', 'integer', true), col('name', 'text')];
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('chunks'));
    const read = (i: number) => ev('chunks', 0x900n, i, 'READ' as never, { id: i, name: 'r' });
    // Chunk 1 (rows 0-1) commits, chunk 2 (rows 2-3) arrives in the same batch without its commit yet.
    await sink.write(
      {
        seq: ++seq,
        events: [0, 1, 2, 3].map(read),
        commits: [commitOf(0x900n, 2)],
        schemaChanges: [schemaOf('chunks', cols)],
        bytes: 0,
      },
      opts,
    );
    expect(sink.position).toEqual({ lsn: 0x900n, index: 1 });
    expect(await db.query('SELECT id FROM chunks ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }]);
    await sink.write({ seq: ++seq, events: [], commits: [commitOf(0x900n, 4)], schemaChanges: [], bytes: 0 }, opts);
    expect(await db.query('SELECT id FROM chunks ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    expect(sink.position).toEqual({ lsn: 0x900n, index: 3 });
    await sink.close?.();
  });
});

describe('MySQL apply, mapping and large transactions', () => {
  it('maps table names, schemas to databases, and includes or excludes columns', async () => {
    const other = `${db.name}_other`;
    const sink = createMySqlSink({
      connectionString: db.url,
      createTables: true,
      databases: { sales: other },
      tables: {
        'public.people': { table: 'persons', columns: { exclude: ['ssn'] } },
        'sales.orders': { columns: { include: ['id', 'total'] } },
        skipped: false,
      },
    });
    await sink.open?.(ctx('mapping'));
    const people = schemaOf('people', [col('id', 'integer', true), col('name', 'text'), col('ssn', 'text')]);
    const orders = {
      ...schemaOf('orders', [col('id', 'integer', true), col('total', 'numeric'), col('secret', 'text')]),
    };
    const ordersSchema: SchemaChange = { ...orders, schema: { ...orders.schema, schema: 'sales' } };
    try {
      await sink.write(
        batch(
          [
            ev('people', 0x100n, 0, 'INSERT', { id: 1, name: 'ann', ssn: '123' }),
            ev('orders', 0x100n, 1, 'INSERT', { id: 7, total: '9.50', secret: 'x' }, { schema: 'sales' }),
            ev('skipped', 0x100n, 2, 'INSERT', { id: 1 }),
          ],
          { schema: [people, ordersSchema] },
        ),
        opts,
      );
      expect(await db.query('SELECT * FROM persons')).toEqual([{ id: 1, name: 'ann' }]);
      expect(await db.query(`SELECT * FROM \`${other}\`.orders`)).toEqual([
        { id: 7, total: '9.500000000000000000000000000000' },
      ]);
      expect(await db.query("SHOW TABLES LIKE 'skipped'")).toEqual([]);
    } finally {
      await sink.close?.();
      await db.query(`DROP DATABASE IF EXISTS \`${other}\``);
    }
  });

  it('a transaction larger than maxPendingBytes streams into a target transaction that commits only with it', async () => {
    const cols = [col('id', 'integer', true), col('pad', 'text')];
    const sink = createMySqlSink({ connectionString: db.url, createTables: true, maxPendingBytes: 4096 });
    await sink.open?.(ctx('big'));
    const rows = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        ev('big', 0x100n, from + i, 'INSERT', { id: from + i, pad: 'p'.repeat(200) }),
      );
    await sink.write(
      batch([ev('big', 0x50n, 0, 'INSERT', { id: -1, pad: '' })], { schema: [schemaOf('big', cols)] }),
      opts,
    );
    await sink.write(batch(rows(0, 40), { commit: false }), opts);
    await sink.write(batch(rows(40, 40), { commit: false }), opts);
    // Applied into an open MySQL transaction: another session sees the rows only when reading uncommitted data.
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '1' }]);
    await db.query('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '81' }]);
    await db.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await sink.write(batch(rows(80, 5)), opts);
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '86' }]);
    expect(sink.position).toEqual({ lsn: 0x100n, index: 84 });
    await sink.close?.();
  });

  it('a large transaction whose target connection is lost half-way stops with a TRANSACTION error and leaves nothing', async () => {
    const cols = [col('id', 'integer', true), col('pad', 'text')];
    const sink = createMySqlSink({ connectionString: db.url, createTables: true, maxPendingBytes: 4096 });
    await sink.open?.(ctx('big-lost'));
    const rows = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        ev('big2', 0x100n, from + i, 'INSERT', { id: from + i, pad: 'p'.repeat(200) }),
      );
    await sink.write(
      batch([ev('big2', 0x50n, 0, 'INSERT', { id: -1, pad: '' })], { schema: [schemaOf('big2', cols)] }),
      opts,
    );
    await sink.write(batch(rows(0, 40), { commit: false }), opts);
    const [me] = await db.query<{ id: number }>('SELECT CONNECTION_ID() AS id');
    for (const s of await db.query<{ id: number }>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> ?',
      [db.name, me?.id],
    )) {
      await db.query(`KILL ${Number(s.id)}`);
    }
    const err = await sink.write(batch(rows(40, 5)), opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'TRANSACTION', retriable: false });
    expect(await db.query('SELECT COUNT(*) AS n FROM big2')).toEqual([{ n: '1' }]);
    await sink.close?.();
  });
});

describe('MySQL apply, DDL never inside a target transaction', () => {
  it('a table created for a transaction is created before it begins (MySQL DDL would commit it half-way)', async () => {
    const sink = createMySqlSink({ connectionString: db.url, createTables: true });
    await sink.open?.(ctx('ddl'));
    const a = schemaOf('ddl_a', [col('id', 'integer', true)]);
    await sink.write(batch([ev('ddl_a', 0x100n, 0, 'INSERT', { id: 1 })], { schema: [a] }), opts);
    const b = schemaOf('ddl_b', [col('id', 'integer', true), col('v', 'character varying', false, 14)]);
    // One source transaction: a row for ddl_a, then a row for the new table ddl_b that MySQL refuses (too long).
    const err = await sink
      .write(
        batch(
          [ev('ddl_a', 0x200n, 0, 'INSERT', { id: 2 }), ev('ddl_b', 0x200n, 1, 'INSERT', { id: 1, v: 'x'.repeat(20) })],
          { schema: [b] },
        ),
        opts,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await db.query('SELECT id FROM ddl_a ORDER BY id')).toEqual([{ id: 1 }]);
    await sink.close?.();
  });
});

describe('MySQL apply, schema items while a large transaction is open', () => {
  it('passes schema items that need no DDL and refuses ones that would (MySQL DDL commits implicitly)', async () => {
    const cols = [col('id', 'integer', true), col('pad', 'text')];
    const sink = createMySqlSink({ connectionString: db.url, createTables: true, maxPendingBytes: 4096 });
    await sink.open?.(ctx('big-ddl'));
    const s1 = schemaOf('big3', cols);
    const rows = (lsn: bigint, from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ev('big3', lsn, from + i, 'INSERT', { id: from + i, pad: 'p'.repeat(200) }));
    await sink.write(batch([ev('big3', 0x50n, 0, 'INSERT', { id: -1, pad: '' })], { schema: [s1] }), opts);
    await sink.write(batch(rows(0x100n, 0, 40), { commit: false }), opts);
    // The same shape again (a reconnecting reader repeats Relation messages): no DDL, the transaction goes on.
    await sink.write(batch(rows(0x100n, 40, 2), { schema: [schemaOf('big3', cols, null, 0x100n)] }), opts);
    expect(await db.query('SELECT COUNT(*) AS n FROM big3')).toEqual([{ n: '43' }]);
    await sink.write(
      batch(
        rows(0x200n, 0, 40).map((e) => ({ ...e, after: { ...e.after, id: 1000 + Number(e.after?.id) } })),
        { commit: false },
      ),
      opts,
    );
    const added = schemaOf('big3', [...cols, col('more', 'text')], s1.schema, 0x200n);
    const err = await sink.write(batch([], { commit: false, schema: [added] }), opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'TRANSACTION', retriable: false });
    expect(await db.query('SELECT COUNT(*) AS n FROM big3')).toEqual([{ n: '43' }]);
    await sink.close?.();
  });
});

describe('MySQL apply, a target filled beforehand', () => {
  it('an inserted key the target already holds is updated, each row written once', async () => {
    await db.query('CREATE TABLE prefilled (id INT PRIMARY KEY, name VARCHAR(20))');
    await db.query('CREATE TABLE prefilled_log (id INT, op VARCHAR(10))');
    await db.query(
      "CREATE TRIGGER prefilled_ins AFTER INSERT ON prefilled FOR EACH ROW INSERT INTO prefilled_log VALUES (NEW.id, 'INSERT')",
    );
    await db.query(
      "CREATE TRIGGER prefilled_upd AFTER UPDATE ON prefilled FOR EACH ROW INSERT INTO prefilled_log VALUES (NEW.id, 'UPDATE')",
    );
    await db.query("INSERT INTO prefilled VALUES (2, 'there before')");
    await db.query('DELETE FROM prefilled_log');
    const sink = createMySqlSink({ connectionString: db.url });
    await sink.open?.(ctx('prefilled'));
    const row = (lsn: bigint, i: number, id: number, name: string) => ev('prefilled', lsn, i, 'INSERT', { id, name });
    await sink.write(batch([row(0x100n, 0, 1, 'a'), row(0x100n, 1, 2, 'b'), row(0x100n, 2, 3, 'c')]), opts);
    await sink.write(batch([row(0x200n, 0, 4, 'd')]), opts);
    expect(await db.query('SELECT id, name FROM prefilled ORDER BY id')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
      { id: 4, name: 'd' },
    ]);
    // One write per row (triggers see no attempt that was rolled back).
    expect(await db.query('SELECT id, op FROM prefilled_log ORDER BY id')).toEqual([
      { id: 1, op: 'INSERT' },
      { id: 2, op: 'UPDATE' },
      { id: 3, op: 'INSERT' },
      { id: 4, op: 'INSERT' },
    ]);
    const [cp] = await db.query<{ position: string }>(
      "SELECT position FROM walstream_checkpoints WHERE pipeline = 'prefilled'",
    );
    expect(cp?.position).toBe('0/200:0');
    await sink.close?.();
  });
});
