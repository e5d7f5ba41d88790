/**
 * The slot lost under a target that holds a checkpoint (FAULTS.md 19/20: a failover to a standby without the slot,
 * a PITR restore): the reader's default `createSlot: true` would create a fresh slot at the source's current WAL,
 * and the sink would skip every new change at or before its old checkpoint and never see the ones in between.
 * The start must fail with the sink's typed error (reason CHECKPOINT), apply nothing and leave no slot behind;
 * once the checkpoint row is deleted (the gap accepted) the start goes on as a first run.
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { expect } from 'vitest';
import { freshDatabase, prepareSlot, sql, waitFor } from '../helpers.js';
import type { SqlTarget, TargetDatabase } from './target.js';

export async function refusesAFreshSlotOverACheckpoint(target: SqlTarget, db: TargetDatabase): Promise<void> {
  const src = await freshDatabase('slotgone');
  await sql(src, 'CREATE TABLE gone (id int PRIMARY KEY, note text)');
  await prepareSlot(src, 'gone_slot', ['gone']);
  // Default reader options: createSlot is true.
  const pipelineOn = () =>
    createPipeline({
      name: 'slotgone',
      reader: createPostgresReader({ connectionString: src, slot: 'gone_slot', publication: 'gone_slot' }),
      sinks: [target.createSink(db.url, { createTables: true })],
      batch: { maxEvents: 50, maxWaitMs: 10 },
    });
  const ids = async () => (await db.query<{ id: number }>('SELECT id FROM gone ORDER BY id')).map((r) => Number(r.id));
  const slots = async () => (await sql(src, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'gone_slot'")).length;

  const first = pipelineOn();
  await first.start();
  try {
    await sql(src, "INSERT INTO gone SELECT g, 'n' FROM generate_series(1, 5) g");
    await waitFor(
      async () => {
        if (first.status().error) throw first.status().error;
        return (await ids().catch(() => [])).length === 5;
      },
      60_000,
      'the first rows in the target',
    );
  } finally {
    await first.stop();
  }
  const checkpoint = await db.query('SELECT position FROM walstream_checkpoints WHERE pipeline = ?', ['slotgone']);
  expect(checkpoint).toHaveLength(1);

  // The slot is lost while the pipeline is stopped; the source goes on.
  await sql(src, "SELECT pg_drop_replication_slot('gone_slot')");
  await sql(src, "INSERT INTO gone SELECT g, 'n' FROM generate_series(6, 8) g");

  const again = pipelineOn();
  const err = await again.start().then(
    () => null,
    (e: unknown) => e as Error & { reason?: string },
  );
  if (err === null) await again.stop();
  expect(err).toBeInstanceOf(target.ApplyError);
  expect(err?.reason).toBe('CHECKPOINT');
  expect(err?.message).toMatch(/replication slot/);
  expect(err?.message).toMatch(/checkpoint/);
  expect(err?.message).not.toMatch(/'n'/);
  expect(again.status().state).toBe('failed');
  // Nothing applied, the checkpoint untouched, and no slot created: a restart by a supervisor fails the same way.
  expect(await ids()).toEqual([1, 2, 3, 4, 5]);
  expect(await db.query('SELECT position FROM walstream_checkpoints WHERE pipeline = ?', ['slotgone'])).toEqual(
    checkpoint,
  );
  expect(await slots()).toBe(0);
  const retry = pipelineOn();
  await expect(retry.start()).rejects.toBeInstanceOf(target.ApplyError);
  expect(await slots()).toBe(0);

  // Accepting the gap: the checkpoint row deleted, the start is a first run (a fresh slot, no checkpoint) and works.
  await db.query('DELETE FROM walstream_checkpoints WHERE pipeline = ?', ['slotgone']);
  const fresh = pipelineOn();
  await fresh.start();
  try {
    expect(await slots()).toBe(1);
    await sql(src, "INSERT INTO gone SELECT g, 'n' FROM generate_series(9, 10) g");
    await waitFor(
      async () => {
        if (fresh.status().error) throw fresh.status().error;
        return (await ids()).includes(10);
      },
      60_000,
      'rows after the fresh start',
    );
  } finally {
    await fresh.stop();
  }
  // Rows 6-8 were written while no slot existed: the gap the deleted checkpoint accepted.
  expect(await ids()).toEqual([1, 2, 3, 4, 5, 9, 10]);
}
