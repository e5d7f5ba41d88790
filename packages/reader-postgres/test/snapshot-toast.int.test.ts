/**
 * An on-demand snapshot of a table with TOASTed values while UPDATEs that leave them alone run against the rows
 * being copied. Such an UPDATE streams without the TOAST column (unchanged); when it wins over the chunk's copy,
 * the column's value must still reach a replica that never had the row. Oracle: the replica equals the source.
 */
import { createPipeline } from '@walstream/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { createReplica, diff, dropSlot, replicaRows, sourceRows, until } from './snapshot-helpers.js';

const ROWS = 4000;
const CHUNK = 100;
const COLS = ['id', 'v', 'big'];

describe.each(servers())('Postgres $version on-demand snapshot of TOASTed rows', ({ url: adminUrl }) => {
  it('a live UPDATE that leaves a TOAST column unchanged does not cost the replica that column', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE docs (id int PRIMARY KEY, v int NOT NULL, big text NOT NULL)');
    await sql(url, 'CREATE TABLE marker (id int PRIMARY KEY)');
    // Out of line and uncompressed: an UPDATE of v alone sends big as unchanged ('u').
    await sql(url, 'ALTER TABLE docs ALTER COLUMN big SET STORAGE EXTERNAL');
    await sql(
      url,
      `INSERT INTO docs SELECT g, 0, (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 80) i)
         FROM generate_series(1, ${ROWS}) g`,
    );
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'toast_pub',
      tables: ['docs', 'marker'],
    });
    const replica = createReplica('docs', ['id']);
    const pipeline = createPipeline({
      name: 'toast',
      reader,
      sinks: [replica],
      batch: { maxEvents: 500, maxWaitMs: 5 },
    });
    await pipeline.start();
    // UPDATEs of v only, aimed at the rows of the chunk being copied and the next ones.
    let running = true;
    let updates = 0;
    const writer = (async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      while (running) {
        const done = reader.snapshotProgress().find((t) => t.table === 'public.docs')?.rowsDone ?? 0;
        const id = 1 + ((done + Math.floor(Math.random() * 3 * CHUNK)) % ROWS);
        await c.query('UPDATE docs SET v = v + 1 WHERE id = $1', [id]);
        updates++;
      }
      await c.end();
    })();
    await until(() => updates > 10, 'updates before the snapshot');
    const { done } = reader.requestSnapshot(['docs'], { chunkRows: CHUNK });
    const result = await done;
    running = false;
    await writer;
    const seen = replica.seen('marker');
    await sql(url, 'INSERT INTO marker VALUES (1)');
    await seen;
    await pipeline.stop();
    await dropSlot(url, slot);

    expect(result.rows['public.docs']).toBeGreaterThan(ROWS / 2);
    const want = await sourceRows(url, 'docs', ['id'], COLS);
    const got = replicaRows(replica, ['id'], COLS);
    expect(diff(want, got)).toEqual([]);
    expect(got.size).toBe(ROWS);
  });
});
