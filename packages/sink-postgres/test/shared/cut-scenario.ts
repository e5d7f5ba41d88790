/**
 * The target connection cut mid-run: the sink's sessions are ended again and again while changes stream; every
 * failed write is retried on a new connection (re-reading the checkpoint, since a cut during COMMIT leaves the
 * outcome unknown) and the target ends equal to the source.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import pg from 'pg';
import { expect } from 'vitest';
import { freshDatabase, prepareSlot, sql, waitFor } from '../helpers.js';
import type { SqlTarget, TargetDatabase } from './target.js';

export async function retriesAfterItsSessionsAreKilled(target: SqlTarget, db: TargetDatabase): Promise<void> {
  const src = await freshDatabase('cut');
  await sql(src, 'CREATE TABLE items (id int PRIMARY KEY, counter int NOT NULL)');
  await prepareSlot(src, 'cut_slot', ['items']);
  const pipeline = createPipeline({
    name: 'cut',
    reader: createPostgresReader({ connectionString: src, slot: 'cut_slot', publication: 'cut_slot' }),
    sinks: [target.createSink(db.url, { createTables: true })],
    batch: { maxEvents: 50, maxWaitMs: 10 },
    retry: { maxAttempts: 50, initialDelayMs: 20, maxDelayMs: 200 },
  });
  await pipeline.start();
  let writing = true;
  const writer = (async () => {
    const c = new pg.Client({ connectionString: src });
    await c.connect();
    let id = 0;
    while (writing) {
      await c.query('BEGIN');
      for (let i = 0; i < 5; i++) await c.query('INSERT INTO items VALUES ($1, 0)', [++id]);
      await c.query(
        'UPDATE items SET counter = counter + 1 WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 5)',
      );
      await c.query('COMMIT');
    }
    await c.end();
  })();
  let killed = 0;
  try {
    // At least 8 rounds, and on until a kill has hit a write (on a loaded machine the first kills can all land
    // while the sink's session sits idle between writes, which no write notices).
    const retried = () => (pipeline.status().sinks[0]?.retries ?? 0) > 0;
    for (let round = 0; round < 8 || (!retried() && round < 40); round++) {
      await new Promise((r) => setTimeout(r, 300));
      killed += await db.killSessions();
    }
    writing = false;
    await writer;
    const want = await sql<{ id: number; counter: number }>(src, 'SELECT id, counter FROM items ORDER BY id');
    await waitFor(
      async () => {
        if (pipeline.status().error) throw pipeline.status().error;
        const got = await db.query('SELECT id, counter FROM items ORDER BY id').catch(() => []);
        return JSON.stringify(got) === JSON.stringify(want);
      },
      60_000,
      'the target to catch up',
    );
  } finally {
    writing = false;
    await pipeline.stop();
  }
  expect(killed).toBeGreaterThanOrEqual(5);
  expect(pipeline.status().sinks[0]?.retries ?? 0).toBeGreaterThan(0);
  const v = await target.verifyTables({ source: src, target: db.url, tables: ['items'] });
  expect(v.equal, JSON.stringify(v)).toBe(true);
}
