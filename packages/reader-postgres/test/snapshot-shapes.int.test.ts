/**
 * Snapshot edge shapes: hostile identifiers, a composite primary key paged across chunks, a TOASTed column, an
 * empty table, a table without a primary key. A copied row must equal the streamed row of the same data.
 */
import { type ChangeEvent, createPipeline, type SchemaChange } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader, NoPrimaryKeyError, type SnapshotOptions } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { dropSlot, until } from './snapshot-helpers.js';

const SHOP = '"Shop Floor"."Order ""Items"""';

async function seed(url: string): Promise<void> {
  await sql(url, 'CREATE SCHEMA "Shop Floor"');
  await sql(
    url,
    `CREATE TABLE ${SHOP} (a int, "b c" text, "we""ird" numeric, doc text, j jsonb, big bigint, PRIMARY KEY (a, "b c"))`,
  );
  await sql(url, `ALTER TABLE ${SHOP} ALTER COLUMN doc SET STORAGE EXTERNAL`);
  await sql(
    url,
    `INSERT INTO ${SHOP}
       SELECT g / 2, CASE g % 2 WHEN 0 THEN 'x,"y"' ELSE E'it''s\\\\' END, g * 1.5, NULL, '{"n": 12345678901234567890}', 9007199254740993
         FROM generate_series(0, 6) g`,
  );
  // One row with a ~190 KB out-of-line value.
  await sql(
    url,
    `UPDATE ${SHOP} SET doc = (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 6000) i) WHERE a = 1 AND "b c" = 'x,"y"'`,
  );
  await sql(url, 'CREATE TABLE empty (id int PRIMARY KEY)');
  await sql(url, 'CREATE TABLE nopk (v int)');
  await sql(url, 'ALTER TABLE nopk REPLICA IDENTITY FULL');
}

const isEvent = (x: unknown): x is ChangeEvent => (x as { kind?: string }).kind === undefined;

/** Runs a snapshot-only reader to its end: the events it copied and its progress. */
async function copyOnly(
  url: string,
  o: { publication: string; slot?: string; tables?: string[]; snapshot?: SnapshotOptions },
) {
  const reader = createPostgresReader({
    connectionString: url,
    slot: o.slot ?? slotName(url),
    publication: o.publication,
    ...(o.tables === undefined ? {} : { tables: o.tables }),
    snapshot: { ...o.snapshot, mode: 'only' },
  });
  const events: ChangeEvent[] = [];
  try {
    for await (const item of reader.read()) if (isEvent(item)) events.push(item);
    return { events, progress: reader.snapshotProgress() };
  } finally {
    await reader.close();
  }
}

describe.each(servers())('Postgres $version snapshot shapes', ({ url: adminUrl }) => {
  it('copies hostile names, composite keys across chunks, TOAST and empty tables exactly as the stream decodes them', async () => {
    const url = await freshDatabase(adminUrl);
    await seed(url);
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'shapes_pub',
      tables: [SHOP, 'empty', 'nopk'],
      snapshot: { mode: 'initial', chunkRows: 2, tables: [SHOP, 'empty'] },
    });
    const items: (ChangeEvent | SchemaChange)[] = [];
    const pipeline = createPipeline({
      name: 'shapes',
      reader,
      sinks: [
        {
          name: 'collect',
          async write(b) {
            items.push(...b.schemaChanges, ...b.events);
          },
        },
      ],
      batch: { maxWaitMs: 5 },
    });
    await pipeline.start();
    await until(() => items.filter((e) => isEvent(e) && e.operation === 'READ').length === 7, 'the initial copy');
    const initial = items.filter(isEvent).filter((e) => e.operation === 'READ');
    expect(initial.map((e) => [e.schema, e.table])).toEqual(new Array(7).fill(['Shop Floor', 'Order "Items"']));
    // Composite key order across chunks of 2: (0,'x,"y"'), (0,'it''s\'), ... strictly increasing.
    expect(initial.map((e) => e.key)).toEqual([
      { a: 0, 'b c': `it's\\` },
      { a: 0, 'b c': 'x,"y"' },
      { a: 1, 'b c': `it's\\` },
      { a: 1, 'b c': 'x,"y"' },
      { a: 2, 'b c': `it's\\` },
      { a: 2, 'b c': 'x,"y"' },
      { a: 3, 'b c': 'x,"y"' },
    ]);
    const toasted = initial.find((e) => e.key?.a === 1 && e.key?.['b c'] === 'x,"y"') as ChangeEvent;
    expect(String(toasted.after?.doc ?? '').length).toBe(6000 * 32);
    expect(toasted.unchanged).toEqual([]);
    expect(toasted.after?.big).toBe(9007199254740993n);
    expect(String(toasted.after?.j)).toBe('{"n": 12345678901234567890}');
    expect(toasted.after?.['we"ird']).toBe('3.0');
    // READ positions come before anything streamed, each id once.
    const schemaItem = items.find((x) => !isEvent(x)) as SchemaChange;
    expect(schemaItem.schema.columns.map((c) => [c.name, c.key])).toEqual([
      ['a', true],
      ['b c', true],
      ['we"ird', false],
      ['doc', false],
      ['j', false],
      ['big', false],
    ]);

    // A streamed INSERT and a later on-demand copy of the same row decode identically.
    await sql(
      url,
      `INSERT INTO ${SHOP} VALUES (9, 'z', 'NaN', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 5000) i), '[1.50]', -1)`,
    );
    await until(() => items.some((e) => isEvent(e) && e.operation === 'INSERT'), 'the streamed insert');
    const inserted = items.find((e) => isEvent(e) && e.operation === 'INSERT') as ChangeEvent;
    expect(inserted.position.lsn).toBeGreaterThan((initial[6] as ChangeEvent).position.lsn);
    const { done } = reader.requestSnapshot([SHOP, 'empty'], { chunkRows: 3 });
    const result = await done;
    expect(result.rows).toEqual({ 'Shop Floor.Order "Items"': 8, 'public.empty': 0 });
    // `done` means handed to the consumer's queue; this test's read loop may not have pulled the last chunk yet.
    const copies = () => items.filter(isEvent).filter((e) => e.operation === 'READ' && e.key?.a === 9);
    await until(() => copies().length > 0, 'the on-demand copy of row 9');
    const again = copies();
    expect(again).toHaveLength(1);
    expect(again[0]?.after).toEqual(inserted.after);
    expect(again[0]?.position.lsn).toBeGreaterThan(inserted.position.lsn);
    const ids = items.filter(isEvent).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);

    // A table without a primary key: a typed error, and the stream goes on.
    let caught: unknown;
    try {
      reader.requestSnapshot(['nopk']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NoPrimaryKeyError);
    expect((caught as NoPrimaryKeyError).code).toBe('NO_PRIMARY_KEY');
    expect(pipeline.status().state).toBe('running');
    await pipeline.stop();
    await dropSlot(url, slot);
  });

  it('refuses an initial snapshot of a table without a primary key before creating the slot', async () => {
    const url = await freshDatabase(adminUrl);
    await seed(url);
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'shapes_pub',
      tables: ['empty', 'nopk'],
      snapshot: { mode: 'initial' },
    });
    await expect(reader.open()).rejects.toMatchObject({ code: 'NO_PRIMARY_KEY', table: 'public.nopk' });
    await reader.close();
    const slots = await sql(url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(slots.rowCount).toBe(0);
  });

  it('snapshot mode only copies and ends without a slot', async () => {
    const url = await freshDatabase(adminUrl);
    await seed(url);
    const slot = slotName(url);
    const { events: got } = await copyOnly(url, {
      publication: 'shapes_pub',
      slot,
      tables: [SHOP, 'empty'],
      snapshot: { chunkRows: 4 },
    });
    expect(got.map((e) => e.operation)).toEqual(new Array(7).fill('READ'));
    const slots = await sql(url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(slots.rowCount).toBe(0);
  });

  it('estimates the rows of a table never vacuumed or analyzed from its size, and of an empty one as 0', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE fresh (id int PRIMARY KEY, v text)');
    await sql(url, "INSERT INTO fresh SELECT g, repeat('v', 40) FROM generate_series(1, 20000) g");
    await sql(url, 'CREATE TABLE hollow (id int PRIMARY KEY)');
    await sql(url, 'CREATE PUBLICATION fresh_pub FOR TABLE fresh, hollow');
    const never = await sql(url, "SELECT reltuples FROM pg_class WHERE relname IN ('fresh', 'hollow')");
    expect(never.rows.map((r) => Number(r.reltuples))).toEqual([-1, -1]); // what pg_class has to offer: nothing
    const { progress } = await copyOnly(url, { publication: 'fresh_pub' });
    const fresh = progress.find((t) => t.table === 'public.fresh');
    expect(fresh?.rowsDone).toBe(20000);
    // The planner's estimate from the pages on disk: the right order of magnitude, not an exact count.
    expect(fresh?.rowsEstimated).toBeGreaterThan(10000);
    expect(fresh?.rowsEstimated).toBeLessThan(40000);
    expect(progress.find((t) => t.table === 'public.hollow')?.rowsEstimated).toBe(0);
  });

  it('describes copied tables with the type names the stream uses, and pages keys with type modifiers', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE DOMAIN posint AS int CHECK (VALUE > 0)');
    await sql(
      url,
      `CREATE TABLE typed (code char(3), tag varchar(10), amount numeric(10,2), at timestamp(3), t time(2),
         bits bit(3), n posint, list int[], PRIMARY KEY (code, tag))`,
    );
    await sql(
      url,
      `INSERT INTO typed VALUES ('ab', 'x', 1.5, '2026-01-02 03:04:05.678', '01:02:03.45', B'101', 5, '{1,2}'),
         ('ab', 'y', 2, NULL, NULL, NULL, 6, NULL), ('b', 'x', 3.25, NULL, NULL, NULL, 7, '{}')`,
    );
    await sql(url, 'CREATE PUBLICATION typed_pub FOR TABLE typed');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'typed_pub',
      // Chunks of one row: every boundary after the first is a key literal cast to its column's type.
      snapshot: { mode: 'initial', chunkRows: 1 },
    });
    const schemas: SchemaChange[] = [];
    const events: ChangeEvent[] = [];
    const pipeline = createPipeline({
      name: 'typed',
      reader,
      sinks: [
        {
          name: 'collect',
          async write(b) {
            schemas.push(...b.schemaChanges);
            events.push(...b.events);
          },
        },
      ],
      batch: { maxWaitMs: 5 },
    });
    await pipeline.start();
    await sql(url, "INSERT INTO typed VALUES ('c', 'z', 4, NULL, NULL, NULL, 8, NULL)");
    await until(() => events.some((e) => e.operation === 'INSERT'), 'the streamed insert');
    await pipeline.stop();
    expect(events.filter((e) => e.operation === 'READ').map((e) => e.key)).toEqual([
      { code: 'ab ', tag: 'x' },
      { code: 'ab ', tag: 'y' },
      { code: 'b  ', tag: 'x' },
    ]);
    // The copy's schema item and the stream's describe the table alike (a sink creating tables gets one shape).
    expect(schemas).toHaveLength(2);
    const [copied, streamed] = schemas as [SchemaChange, SchemaChange];
    expect(copied.schema.columns).toEqual(streamed.schema.columns);
    expect(copied.schema.columns.find((c) => c.name === 'amount')).toMatchObject({ type: 'numeric' });
  });

  it('snapshot mode only does not ask for replica identities: it reads no stream', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE kept (id int PRIMARY KEY, v text)');
    await sql(url, "INSERT INTO kept SELECT g, 'v' || g FROM generate_series(1, 5) g");
    // Published for UPDATE and DELETE without a key: streaming refuses it (its updates could not be decoded).
    await sql(url, 'CREATE TABLE loose (v int)');
    await sql(url, 'CREATE PUBLICATION loose_pub FOR TABLE kept, loose');
    const streaming = createPostgresReader({ connectionString: url, slot: slotName(url), publication: 'loose_pub' });
    await expect(streaming.open()).rejects.toMatchObject({ code: 'REPLICA_IDENTITY' });
    await streaming.close();
    const { events: got } = await copyOnly(url, { publication: 'loose_pub', snapshot: { tables: ['public.kept'] } });
    expect(got.map((e) => e.after?.id)).toEqual([1, 2, 3, 4, 5]);
    // Copying the keyless table itself is refused by name, as for an initial snapshot.
    const all = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'loose_pub',
      snapshot: { mode: 'only' },
    });
    await expect(all.open()).rejects.toMatchObject({ code: 'NO_PRIMARY_KEY', table: 'public.loose' });
    await all.close();
  });
});
