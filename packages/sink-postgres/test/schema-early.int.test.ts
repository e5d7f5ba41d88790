/**
 * A table the target does not have yet, whose source shape changes (a column added, then dropped) before the
 * sink's first write: the table is created in the source's latest shape, and rows of the older shapes still
 * apply (the dropped column's values are not written), instead of failing on a column the target never had.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { describe, expect, it } from 'vitest';
import { createPostgresSink, verifyTables } from '../src/index.js';
import { freshDatabase, sql, waitFor } from './helpers.js';

describe('schema changes before the first write', () => {
  it('creates the table in its latest shape and applies rows of the earlier ones', async () => {
    const src = await freshDatabase('early_src');
    const dst = await freshDatabase('early_dst');
    await sql(src, 'CREATE TABLE items (id int PRIMARY KEY, v text)');
    const reader = createPostgresReader({
      connectionString: src,
      slot: 'early',
      publication: 'early',
      tables: ['items'],
    });
    await reader.open();
    await sql(src, "INSERT INTO items VALUES (1, 'a')");
    await sql(src, 'ALTER TABLE items ADD COLUMN extra text');
    await sql(src, "INSERT INTO items VALUES (2, 'b', 'x')");
    await sql(src, 'ALTER TABLE items DROP COLUMN extra');
    await sql(src, "INSERT INTO items VALUES (3, 'c')");
    const pipeline = createPipeline({
      name: 'early',
      reader,
      sinks: [createPostgresSink({ connectionString: dst, createTables: true })],
      batch: { maxWaitMs: 20 },
    });
    await pipeline.start();
    try {
      await waitFor(
        async () => {
          if (pipeline.status().error) throw pipeline.status().error;
          const r = await sql<{ n: number }>(dst, 'SELECT count(*)::int AS n FROM items').catch(() => []);
          return r[0]?.n === 3;
        },
        60_000,
        'three rows in the target',
      );
    } finally {
      await pipeline.stop();
    }
    const cols = await sql(dst, "SELECT attname FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0");
    expect(cols.map((r) => r.attname)).toEqual(['id', 'v']);
    expect((await verifyTables({ source: src, target: dst, tables: ['items'] })).equal).toBe(true);
  }, 120_000);
});
