/**
 * E26 DDL under load: while a writer inserts continuously, the captured table gets ADD COLUMN, a widened
 * varchar(10) -> varchar(20), RENAME COLUMN, DROP COLUMN and a type change int -> bigint. Pass: each change yields a
 * schema event at or before the first row in the new shape (never after it, never a row in a shape no schema event
 * announced), with the new names, types and modifiers; every inserted row arrives (O1).
 */
import { type Batch, createPipeline, type SchemaChange, type Sink } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import pg from 'pg';
import { expect, inject, it } from 'vitest';
import { freshDatabase, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const before = (a: { lsn: bigint; index: number }, b: { lsn: bigint; index: number }) =>
  a.lsn < b.lsn || (a.lsn === b.lsn && a.index <= b.index);

it('E26 DDL under load: a schema event precedes the first row of every new shape; no row lost', async () => {
  const url = await freshDatabase(inject('faultsPostgres').url, 'ddl');
  await sql(url, 'CREATE TABLE d (id int PRIMARY KEY, s int NOT NULL, v varchar(10), n int, t int)');
  await sql(url, 'CREATE PUBLICATION ddl_pub FOR TABLE d');
  // What the sink saw, in delivery order; within a batch a schema event goes before the first row at or past its
  // position (the position of the first row in the new shape).
  const seen: ({ schema: SchemaChange } | { row: Batch['events'][number] })[] = [];
  const sink: Sink = {
    name: 'array',
    async write(b) {
      const changes = [...b.schemaChanges];
      for (const e of b.events) {
        while (changes.length > 0 && before((changes[0] as SchemaChange).position, e.position))
          seen.push({ schema: changes.shift() as SchemaChange });
        seen.push({ row: e });
      }
      for (const c of changes) seen.push({ schema: c });
    },
  };
  const pipeline = createPipeline({
    name: 'e26',
    reader: createPostgresReader({
      connectionString: url,
      slot: `e26_${Date.now().toString(36)}`,
      publication: 'ddl_pub',
    }),
    sinks: [sink],
    batch: { maxWaitMs: 5 },
  });
  let running = true;
  let next = 1;
  try {
    await pipeline.start();
    // The writer touches only `id` and `s`, which no step changes; every row shows the table's whole shape.
    const writer = (async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        while (running) await client.query('INSERT INTO d (id, s) VALUES ($1, $1)', [next++]);
      } finally {
        await client.end();
      }
    })();
    const steps = [
      `ALTER TABLE d ADD COLUMN a text DEFAULT 'x'`,
      'ALTER TABLE d ALTER COLUMN v TYPE varchar(20)',
      'ALTER TABLE d RENAME COLUMN n TO m',
      'ALTER TABLE d DROP COLUMN m',
      'ALTER TABLE d ALTER COLUMN t TYPE bigint',
    ];
    for (const step of steps) {
      await pause(150);
      await sql(url, step);
    }
    await pause(150);
    running = false;
    await writer;
    const last = next - 1;
    const rows = () => new Set(seen.flatMap((x) => ('row' in x ? [Number(x.row.after?.id)] : [])));
    for (let i = 0; i < 300 && rows().size < last; i++) await pause(20);
    // O1: every inserted row arrived.
    expect(rows().size).toBe(last);

    // Every row in the shape of the schema event before it (in delivery order and by position).
    let current: SchemaChange | null = null;
    const bad: unknown[] = [];
    for (const x of seen) {
      if ('schema' in x) {
        current = x.schema;
        continue;
      }
      const cols = current?.schema.columns.map((c) => c.name) ?? [];
      if (current === null || !before(current.position, x.row.position))
        bad.push({ id: x.row.after?.id, why: 'no schema event before it' });
      else if (JSON.stringify(Object.keys(x.row.after ?? {})) !== JSON.stringify(cols))
        bad.push({ id: x.row.after?.id, keys: Object.keys(x.row.after ?? {}), cols });
    }
    expect(bad.slice(0, 5)).toEqual([]);
    // One schema event for the first shape and one per step, each with the new shape.
    const shapes = seen.flatMap((x) =>
      'schema' in x ? [x.schema.schema.columns.map((c) => `${c.name}:${c.type}:${c.typeModifier}`).join(',')] : [],
    );
    expect(shapes).toEqual([
      'id:integer:-1,s:integer:-1,v:character varying:14,n:integer:-1,t:integer:-1',
      'id:integer:-1,s:integer:-1,v:character varying:14,n:integer:-1,t:integer:-1,a:text:-1',
      'id:integer:-1,s:integer:-1,v:character varying:24,n:integer:-1,t:integer:-1,a:text:-1',
      'id:integer:-1,s:integer:-1,v:character varying:24,m:integer:-1,t:integer:-1,a:text:-1',
      'id:integer:-1,s:integer:-1,v:character varying:24,t:integer:-1,a:text:-1',
      'id:integer:-1,s:integer:-1,v:character varying:24,t:bigint:-1,a:text:-1',
    ]);
  } finally {
    running = false;
    await pipeline.stop().catch(() => {});
    await sql(
      url,
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
    ).catch(() => {});
  }
});
