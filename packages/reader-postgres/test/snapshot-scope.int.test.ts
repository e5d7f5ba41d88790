/**
 * What a snapshot copies and what it refuses: the checkpoint table is never copied (a FOR ALL TABLES publication
 * includes it); a table added to the publication after the reader started can be backfilled; a published stored
 * generated column (PG18) is copied as the stream sends it; bad requestSnapshot arguments are ConfigErrors.
 */
import { type ChangeEvent, ConfigError, createPipeline } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader, SnapshotError } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { dropSlot, until } from './snapshot-helpers.js';

const isEvent = (x: unknown): x is ChangeEvent => (x as { kind?: string }).kind === undefined;

describe.each(servers())('Postgres $version snapshot scope', ({ url: adminUrl }) => {
  it('never copies the checkpoint table, not even for FOR ALL TABLES', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    await sql(url, 'INSERT INTO t SELECT generate_series(1, 5)');
    // Another pipeline's checkpoints already sit in the table.
    await sql(
      url,
      `CREATE TABLE walstream_snapshot_checkpoints (
         slot text NOT NULL, snapshot_id text NOT NULL, state jsonb NOT NULL, done boolean NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (slot, snapshot_id));
       INSERT INTO walstream_snapshot_checkpoints VALUES ('other', 's1', '{}', false)`,
    );
    await sql(url, 'CREATE PUBLICATION all_pub FOR ALL TABLES');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'all_pub',
      snapshot: { mode: 'only' },
    });
    const tables = new Set<string>();
    for await (const item of reader.read()) if (isEvent(item)) tables.add(item.table);
    await reader.close();
    expect([...tables]).toEqual(['t']);
  });

  it('backfills a table added to the publication after the reader started', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE later (id int PRIMARY KEY, v text)');
    await sql(url, `INSERT INTO later SELECT g, 'old' FROM generate_series(1, 50) g`);
    await sql(url, 'CREATE PUBLICATION grow_pub FOR TABLE a');
    const slot = slotName(url);
    const reader = createPostgresReader({ connectionString: url, slot, publication: 'grow_pub' });
    const reads: ChangeEvent[] = [];
    const pipeline = createPipeline({
      name: 'grow',
      reader,
      sinks: [
        {
          name: 'keep',
          async write(b) {
            for (const e of b.events) if (e.operation === 'READ') reads.push(e);
          },
        },
      ],
      batch: { maxWaitMs: 5 },
    });
    await pipeline.start();
    await sql(url, 'ALTER PUBLICATION grow_pub ADD TABLE later');
    const { accepted, done } = reader.requestSnapshot(['later']);
    await accepted;
    const result = await done;
    expect(result.rows['public.later']).toBe(50);
    await until(() => reads.length === 50, 'the copied rows');
    // Still refused: a table that is not published, now after a look at the publication.
    const missing = reader.requestSnapshot(['nowhere']);
    await expect(missing.accepted).rejects.toBeInstanceOf(SnapshotError);
    await expect(missing.done).rejects.toBeInstanceOf(SnapshotError);
    await pipeline.stop();
    await dropSlot(url, slot);
  });

  it('refuses bad requestSnapshot arguments with a ConfigError naming the field', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const slot = slotName(url);
    const reader = createPostgresReader({ connectionString: url, slot, publication: 'p', tables: ['t'] });
    await reader.open();
    const bad: [unknown, unknown, string][] = [
      ['t', undefined, 'tables'],
      [[], undefined, 'tables'],
      [[42], undefined, 'tables'],
      [['t'], { chunkRows: 0 }, 'chunkRows'],
      [['t'], { chunkRows: '5' }, 'chunkRows'],
      [['t'], { chunkRows: 1e9 }, 'chunkRows'],
    ];
    for (const [tables, opts, field] of bad) {
      let caught: unknown;
      try {
        reader.requestSnapshot(tables as string[], opts as { chunkRows?: number });
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify([tables, opts])).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).field).toContain(field);
    }
    await reader.close();
    await dropSlot(url, slot);
  });
});

// Publishing generated columns is new in PostgreSQL 18.
describe.each(servers().filter((s) => s.version >= 18))(
  'Postgres $version snapshot of generated columns',
  ({ url: adminUrl }) => {
    it('copies a published stored generated column as the stream sends it', async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE g (id int PRIMARY KEY, a int, gen int GENERATED ALWAYS AS (id * 2) STORED)');
      await sql(url, 'INSERT INTO g (id, a) VALUES (1, 10)');
      await sql(url, 'CREATE PUBLICATION gen_pub FOR TABLE g (id, a, gen)');
      const slot = slotName(url);
      const reader = createPostgresReader({
        connectionString: url,
        slot,
        publication: 'gen_pub',
        snapshot: { mode: 'initial' },
      });
      const events: ChangeEvent[] = [];
      const pipeline = createPipeline({
        name: 'gen',
        reader,
        sinks: [
          {
            name: 'keep',
            async write(b) {
              events.push(...b.events);
            },
          },
        ],
        batch: { maxWaitMs: 5 },
      });
      await pipeline.start();
      await until(() => events.length >= 1, 'the copied row');
      await sql(url, 'INSERT INTO g (id, a) VALUES (2, 20)');
      await until(() => events.length >= 2, 'the streamed row');
      await pipeline.stop();
      await dropSlot(url, slot);
      expect(events.map((e) => [e.operation, e.after])).toEqual([
        ['READ', { id: 1, a: 10, gen: 2 }],
        ['INSERT', { id: 2, a: 20, gen: 4 }],
      ]);
    });
  },
);
