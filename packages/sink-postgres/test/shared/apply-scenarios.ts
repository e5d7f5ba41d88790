/**
 * Apply scenarios both SQL sinks pass: each is a test body, called from the package's apply.int.test.ts under its
 * own test name, against that package's target.
 */
import { expect, it } from 'vitest';
import type { ApplySink as Sink } from '../../src/index.js';
import { batch, col, ctx, ev, opts, schemaOf } from './events.js';
import type { SqlTarget, TargetDatabase } from './target.js';

const cols = [col('id', 'integer', true), col('name', 'text'), col('n', 'integer'), col('big', 'text')];

/** The scenarios whose test names say nothing target-specific, registered under those names. */
export function itAppliesTheCommonCases(target: SqlTarget, database: () => TargetDatabase): void {
  it('applies insert, update, delete, primary-key change, unchanged TOAST columns and TRUNCATE', () =>
    appliesEveryOperation(target, database()));

  it('skips events at or before the checkpoint after a restart (a replayed older update does not win)', () =>
    skipsWhatTheCheckpointHolds(target, database()));

  it('holds a transaction that spans batches until its commit, and never splits it', () =>
    holdsASpanningTransaction(target, database()));
}

export async function appliesEveryOperation(target: SqlTarget, db: TargetDatabase): Promise<void> {
  const sink = target.createSink(db.url, { createTables: true });
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
  expect(cp).toEqual({ pipeline: 'ops', sink: target.sinkName, position: '0/400:1' });
  await sink.close?.();
}

export async function skipsWhatTheCheckpointHolds(target: SqlTarget, db: TargetDatabase): Promise<void> {
  const make = () => target.createSink(db.url, { createTables: true });
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
}

export async function holdsASpanningTransaction(target: SqlTarget, db: TargetDatabase): Promise<void> {
  const sink = target.createSink(db.url, { createTables: true });
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
}

export interface SchemaEvolutionOptions {
  /** Runs with columns id, small (bigint) and extra in place, before the narrowing is refused. */
  afterWidening?: (sink: Sink) => Promise<void>;
  /** A query whose one row holds `n`, the number of columns named `more` in table `evolve`. */
  countMoreColumnSql: string;
}

export async function evolvesTheSchema(
  target: SqlTarget,
  db: TargetDatabase,
  options: SchemaEvolutionOptions,
): Promise<void> {
  const sink = target.createSink(db.url, { createTables: true });
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
  await options.afterWidening?.(sink);
  const narrowing = schemaOf(
    'evolve',
    [col('id', 'integer', true), col('small', 'integer'), col('extra', 'text')],
    v2.schema,
    0x300n,
  );
  await expect(sink.write(batch([], { schema: [narrowing] }), opts)).rejects.toMatchObject({ reason: 'SCHEMA' });
  await sink.close?.();

  const strict = target.createSink(db.url, { onSchemaChange: 'error' });
  await strict.open?.(ctx('schema-strict'));
  const v3 = schemaOf('evolve', [...v2.schema.columns, col('more', 'text')], v2.schema, 0x400n);
  const err = await strict.write(batch([], { schema: [v3] }), opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(target.ApplyError);
  expect((err as { reason: string }).reason).toBe('SCHEMA');
  expect((err as { retriable: boolean }).retriable).toBe(false);
  const [more] = await db.query<{ n: number | string }>(options.countMoreColumnSql);
  expect(Number(more?.n)).toBe(0);
  await strict.close?.();
}

export interface HostileOptions {
  /** The message of the error for a 65-character table name. */
  tooLong: RegExp;
  /** More checks on the open sink, at LSN 0x500 and later. */
  more?: (sink: Sink) => Promise<void>;
}

export async function quotesHostileIdentifiers(
  target: SqlTarget,
  db: TargetDatabase,
  options: HostileOptions,
): Promise<void> {
  const sink = target.createSink(db.url, { createTables: true });
  await sink.open?.(ctx('hostile'));
  const table = 'we`ird"; DROP TABLE x; --';
  const hostile = [col('i`d', 'integer', true), col('it\'s "quoted"', 'text'), col('sp ace\\', 'text')];
  const row = (lsn: bigint, id: number, q: string, s: string) =>
    ev(table, lsn, 0, 'INSERT', { 'i`d': id, 'it\'s "quoted"': q, 'sp ace\\': s }, { key: { 'i`d': id } as never });
  await sink.write(batch([row(0x100n, 1, 'q', 's')], { schema: [schemaOf(table, hostile)] }), opts);
  await sink.write(batch([ev(table, 0x200n, 0, 'DELETE', null, { key: { 'i`d': 1 } as never })]), opts);
  await sink.write(batch([row(0x300n, 2, 'r', 't')]), opts);
  expect(await db.query(`SELECT * FROM ${target.quote(table)}`)).toEqual([
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
  expect(String((err as Error).message)).toMatch(options.tooLong);
  await options.more?.(sink);
  await sink.close?.();
}

/**
 * A target table filled beforehand (key 2 there already, a trigger logging each row write): the inserted rows
 * all land, each written once. `prepare` creates `prefilled`, the logging `prefilled_log` and its trigger(s),
 * inserts row 2 and empties the log.
 */
export async function appliesOverAPrefilledTarget(
  target: SqlTarget,
  db: TargetDatabase,
  prepare: (db: TargetDatabase) => Promise<void>,
): Promise<void> {
  await prepare(db);
  const sink = target.createSink(db.url);
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
  // One write per row: a first attempt that failed on key 2 (if any) left nothing behind.
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
}
