import type { Batch, ChangeEvent, ColumnSchema, SchemaChange, TableSchema } from '@walstream/core';
import { silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, createPostgresSink } from '../src/index.js';
import { freshDatabase, sql } from './helpers.js';

let url: string;
const db = {
  query: <T = Record<string, unknown>>(text: string, params?: unknown[]) =>
    sql(url, text.replace('?', '$1'), params) as Promise<T[]>,
};
beforeAll(async () => {
  url = await freshDatabase('apply');
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

describe('Postgres apply', () => {
  const cols = [col('id', 'integer', true), col('name', 'text'), col('n', 'integer'), col('big', 'text')];

  it('applies insert, update, delete, primary-key change, unchanged TOAST columns and TRUNCATE', async () => {
    const sink = createPostgresSink({ connectionString: url, createTables: true });
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
    expect(cp).toEqual({ pipeline: 'ops', sink: 'postgres', position: '0/400:1' });
    await sink.close?.();
  });

  it('skips events at or before the checkpoint after a restart (a replayed older update does not win)', async () => {
    const make = () => createPostgresSink({ connectionString: url, createTables: true });
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
    const sink = createPostgresSink({ connectionString: url, createTables: true });
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
    const sink = createPostgresSink({ connectionString: url, createTables: true });
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
    const narrowing = schemaOf(
      'evolve',
      [col('id', 'integer', true), col('small', 'integer'), col('extra', 'text')],
      v2.schema,
      0x300n,
    );
    await expect(sink.write(batch([], { schema: [narrowing] }), opts)).rejects.toMatchObject({ reason: 'SCHEMA' });
    await sink.close?.();

    const strict = createPostgresSink({ connectionString: url, onSchemaChange: 'error' });
    await strict.open?.(ctx('schema-strict'));
    const v3 = schemaOf('evolve', [...v2.schema.columns, col('more', 'text')], v2.schema, 0x400n);
    const err = await strict.write(batch([], { schema: [v3] }), opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).reason).toBe('SCHEMA');
    expect((err as ApplyError).retriable).toBe(false);
    expect(
      await db.query(
        "SELECT COUNT(*)::int AS n FROM information_schema.columns WHERE table_name = 'evolve' AND column_name = 'more'",
      ),
    ).toEqual([{ n: 0 }]);
    await strict.close?.();
  });

  it('quotes hostile identifiers and rejects names over 63 bytes', async () => {
    const sink = createPostgresSink({ connectionString: url, createTables: true });
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
    expect(await db.query('SELECT * FROM "we`ird""; DROP TABLE x; --"')).toEqual([
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
    expect(String((err as Error).message)).toMatch(/65 bytes; Postgres allows 1 to 63 bytes/);
    await sink.close?.();
  });
});

describe('Postgres apply, statements sent without waiting (pipeline)', () => {
  it('commits nothing of a transaction whose middle statement fails, reports that error, and resumes after it', async () => {
    await db.query('CREATE TABLE pipefail (id integer PRIMARY KEY, n integer CHECK (n <> 13))');
    const sink = createPostgresSink({ connectionString: url, maxRowsPerStatement: 2 });
    await sink.open?.(ctx('pipefail'));
    const row = (lsn: bigint, i: number, id: number, n: number) => ev('pipefail', lsn, i, 'INSERT', { id, n });
    await sink.write(batch([row(0x100n, 0, 1, 1)]), opts);
    // Several two-row statements sent back to back; the second violates the CHECK, the ones behind it and the
    // checkpoint with the COMMIT are already on the wire.
    const bad = [2, 3, 4, 5, 6, 7, 8, 9].map((id, i) => row(0x200n, i, id, id === 4 ? 13 : id));
    const err = await sink.write(batch(bad), opts).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/pipefail_n_check/);
    expect(err?.message).not.toMatch(/current transaction is aborted/);
    expect(await db.query('SELECT id FROM pipefail ORDER BY id')).toEqual([{ id: 1 }]);
    const [cp] = await db.query<{ position: string }>(
      "SELECT position FROM walstream_checkpoints WHERE pipeline = 'pipefail'",
    );
    expect(cp?.position).toBe('0/100:0');
    // The same sink goes on with the next transaction.
    await sink.write(batch([row(0x300n, 0, 20, 20), row(0x300n, 1, 21, 21), row(0x300n, 2, 22, 22)]), opts);
    expect((await db.query('SELECT id FROM pipefail ORDER BY id')).map((r) => r.id)).toEqual([1, 20, 21, 22]);
    await sink.close?.();
  });
});

describe('Postgres apply, plain INSERTs for new rows', () => {
  it('an inserted key the target already holds: the transaction is redone with upserts, each row written once', async () => {
    await db.query('CREATE TABLE prefilled (id integer PRIMARY KEY, name text)');
    await db.query('CREATE TABLE prefilled_log (id integer, op text)');
    await db.query(`CREATE FUNCTION prefilled_log() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO prefilled_log VALUES (NEW.id, TG_OP); RETURN NEW; END $$`);
    await db.query(
      'CREATE TRIGGER prefilled_log AFTER INSERT OR UPDATE ON prefilled FOR EACH ROW EXECUTE FUNCTION prefilled_log()',
    );
    await db.query("INSERT INTO prefilled VALUES (2, 'there before')");
    await db.query('TRUNCATE prefilled_log');
    const sink = createPostgresSink({ connectionString: url });
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
    // The first attempt (plain INSERTs, failed on key 2) left nothing behind: one write per row.
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
