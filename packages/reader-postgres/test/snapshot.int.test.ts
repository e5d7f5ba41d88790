/**
 * Initial and on-demand snapshots of a 100k-row table while inserts, updates (some moving the primary key) and
 * deletes run against it, inside and outside the chunk being copied. Oracle: the READ events plus the streamed
 * changes, applied by primary key, equal the source row for row.
 */
import { createPipeline, type PipelineEvent } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { createReplica, diff, replicaRows, sourceRows, startWriter, until } from './snapshot-helpers.js';

const COLS = ['id', 'v', 'pad'];
const CHUNK = 4000;

async function seed(url: string): Promise<void> {
  await sql(url, 'CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text)');
  await sql(url, 'CREATE TABLE marker (id int PRIMARY KEY)');
  await sql(url, `INSERT INTO items SELECT 2 * g, g % 7, md5(g::text) FROM generate_series(1, 100000) g`);
  await sql(url, 'ANALYZE items');
}

describe.each(servers())('Postgres $version snapshots', ({ url: adminUrl }) => {
  it('initial snapshot under concurrent writes: copy + stream equals the source', async () => {
    const url = await freshDatabase(adminUrl);
    await seed(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'snap_pub',
      tables: ['items', 'marker'],
      snapshot: { mode: 'initial', chunkRows: CHUNK },
    });
    const replica = createReplica('items', ['id']);
    const pipeline = createPipeline({
      name: 'snap',
      reader,
      sinks: [replica],
      batch: { maxEvents: 2000, maxWaitMs: 5 },
    });
    const progressEvents: Extract<PipelineEvent, { type: 'snapshot' }>[] = [];
    pipeline.on('snapshot', (e) => progressEvents.push(e));
    await pipeline.start();
    // The slot exists and its snapshot was imported: write while the copy runs.
    const writer = startWriter(
      url,
      () => 2 * (pipeline.status().snapshot.find((t) => t.table === 'public.items')?.rowsDone ?? 0),
      2 * CHUNK,
    );
    await until(
      () => pipeline.status().snapshot.some((t) => t.table === 'public.items' && t.state === 'done'),
      'the copy',
    );
    await new Promise((r) => setTimeout(r, 500));
    await writer.stop();
    expect(writer.ops).toBeGreaterThan(0);
    const seen = replica.seen('marker');
    await sql(url, 'INSERT INTO marker VALUES (1)');
    await seen;
    const status = pipeline.status();
    await pipeline.stop();

    const want = await sourceRows(url, 'items', ['id'], COLS);
    const got = replicaRows(replica, ['id'], COLS);
    expect(diff(want, got)).toEqual([]);
    expect(got.size).toBe(want.size);
    const items = status.snapshot.find((t) => t.table === 'public.items');
    expect(items).toMatchObject({ snapshotId: 'initial', state: 'done', rowsDone: 100000, etaMs: 0 });
    expect(items?.rowsEstimated).toBeGreaterThan(90000);
    expect(progressEvents.length).toBeGreaterThan(1);
  });

  it('on-demand snapshot while streaming: watermarks keep live changes over the copy', async () => {
    const url = await freshDatabase(adminUrl);
    await seed(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'snap_pub',
      tables: ['items', 'marker'],
    });
    const replica = createReplica('items', ['id']);
    replica.keepEvents = true;
    const pipeline = createPipeline({
      name: 'snap',
      reader,
      sinks: [replica],
      batch: { maxEvents: 2000, maxWaitMs: 5 },
    });
    await pipeline.start();
    const writer = startWriter(
      url,
      () => 2 * (reader.snapshotProgress().find((t) => t.table === 'public.items')?.rowsDone ?? 0),
      2 * CHUNK,
    );
    await until(() => writer.ops > 20, 'writes before the snapshot');
    const { id, done } = reader.requestSnapshot(['items'], { chunkRows: CHUNK });
    const result = await done;
    await writer.stop();
    const seen = replica.seen('marker');
    await sql(url, 'INSERT INTO marker VALUES (1)');
    await seen;
    await pipeline.stop();

    expect(result.id).toBe(id);
    expect(result.rows['public.items']).toBeGreaterThan(80000);
    const want = await sourceRows(url, 'items', ['id'], COLS);
    const got = replicaRows(replica, ['id'], COLS);
    expect(diff(want, got)).toEqual([]);
    expect(got.size).toBe(want.size);
    // READ rows sit inside their watermark transaction, after the changes streamed before it.
    const reads = replica.events.filter((e) => e.operation === 'READ');
    expect(reads.length).toBeGreaterThan(50000);
    let prev = replica.events[0]?.position;
    for (const e of replica.events) {
      if (prev && (e.position.lsn < prev.lsn || (e.position.lsn === prev.lsn && e.position.index <= prev.index))) {
        if (e !== replica.events[0]) throw new Error(`positions out of order at ${e.id}`);
      }
      prev = e.position;
    }
    expect(new Set(replica.events.map((e) => e.id)).size).toBe(replica.events.length);
    // No messages leak to sinks when `messages` is off.
    expect(replica.events.some((e) => e.operation === 'MESSAGE')).toBe(false);
  });
});
