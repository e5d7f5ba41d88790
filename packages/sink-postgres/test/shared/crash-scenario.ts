/**
 * SIGKILL loop: a child runs Postgres -> Pipeline -> the target's apply sink while a writer makes over 10,000
 * changes (inserts, counter increments, primary-key changes, deletes, TRUNCATEs, unchanged TOAST columns); the
 * child is killed at random points at least 12 times and restarted. Oracles: the target equals the source
 * (verifyTables and a direct comparison), a trigger in the target fails any update that moves a counter backwards
 * (what re-applying an old change would do), and the checkpoint row holds the position of the last source
 * transaction.
 */
import type { ChildProcess } from 'node:child_process';
import { formatLsn, parseLsn } from '@walstream/core';
import { output, waitForLine } from '@walstream/testkit';
import pg from 'pg';
import { expect } from 'vitest';
import { freshDatabase, prepareSlot, sql } from '../helpers.js';
import type { SqlTarget, TargetDatabase } from './target.js';

export const KILLS = 12;
const CHANGES = 10_000;

export interface CrashOptions {
  /**
   * Creates table `acct (id, counter, note)` in the target with a trigger that fails, with the message
   * 'counter went backwards', any update that lowers `counter`.
   */
  prepareTarget(db: TargetDatabase): Promise<void>;
  /** Starts the package's children/crash-child.ts with these arguments. */
  startChild(args: string[]): ChildProcess;
}

export async function applyExactlyOnceAcrossKills(
  target: SqlTarget,
  db: TargetDatabase,
  { prepareTarget, startChild }: CrashOptions,
): Promise<void> {
  const src = await freshDatabase('crash');
  await sql(src, 'CREATE TABLE acct (id int PRIMARY KEY, counter int NOT NULL, note text)');
  await prepareSlot(src, 'crash_slot', ['acct']);
  await prepareTarget(db);

  let changes = 0;
  let nextId = 1;
  let last = { before: 0n, after: 0n };
  const writer = (async () => {
    const c = new pg.Client({ connectionString: src });
    await c.connect();
    let txn = 0;
    while (changes < CHANGES) {
      txn++;
      await c.query('BEGIN');
      const r = Math.random();
      let n = 0;
      if (txn % 700 === 0) {
        n += (await c.query('TRUNCATE acct')).rowCount ?? 0;
        n += 1;
      } else if (r < 0.35) {
        for (let i = 0; i < 3; i++) {
          const big = i === 0 && Math.random() < 0.2;
          await c.query(
            big
              ? `INSERT INTO acct VALUES ($1, 0, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200)))`
              : `INSERT INTO acct VALUES ($1, 0, 'n')`,
            [nextId++],
          );
          n++;
        }
      } else if (r < 0.8) {
        n +=
          (
            await c.query(
              'UPDATE acct SET counter = counter + 1 WHERE id IN (SELECT id FROM acct ORDER BY random() LIMIT 3)',
            )
          ).rowCount ?? 0;
        n +=
          (
            await c.query(
              'UPDATE acct SET counter = counter + 1 WHERE id IN (SELECT id FROM acct ORDER BY random() LIMIT 1)',
            )
          ).rowCount ?? 0;
      } else if (r < 0.9) {
        n +=
          (
            await c.query(
              'UPDATE acct SET id = $1, counter = counter + 1 WHERE id = (SELECT id FROM acct ORDER BY random() LIMIT 1)',
              [nextId++],
            )
          ).rowCount ?? 0;
      } else {
        n +=
          (await c.query('DELETE FROM acct WHERE id IN (SELECT id FROM acct ORDER BY random() LIMIT 2)')).rowCount ?? 0;
      }
      changes += n;
      await c.query('COMMIT');
      if (txn % 20 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    // The last transaction: one update; its commit LSN lies between these two WAL positions.
    await c.query('INSERT INTO acct VALUES ($1, 0, NULL)', [nextId]);
    await c.query('BEGIN');
    const before = (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l as string;
    await c.query('UPDATE acct SET counter = counter + 1 WHERE id = $1', [nextId]);
    await c.query('COMMIT');
    const after = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l as string;
    last = { before: parseLsn(before), after: parseLsn(after) };
    await c.end();
  })();

  let kills = 0;
  let writerDone = false;
  void writer.then(() => {
    writerDone = true;
  });
  while (kills < KILLS || !writerDone) {
    const child = startChild([src, 'crash_slot', db.url]);
    const out = output(child);
    await waitForLine(child, 'started');
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
    child.kill('SIGKILL');
    const res = await out;
    expect(res.stderr).not.toMatch(/counter went backwards/);
    kills++;
  }
  await writer;
  expect(changes).toBeGreaterThanOrEqual(CHANGES);

  // A last, clean run catches up with everything committed.
  const child = startChild([src, 'crash_slot', db.url]);
  const out = output(child);
  await waitForLine(child, 'started');
  const sourceRows = async () =>
    await sql<{ id: number; counter: number }>(src, 'SELECT id, counter FROM acct ORDER BY id');
  const want = await sourceRows();
  for (let i = 0; i < 1200; i++) {
    const got = await db.query<{ id: number; counter: number }>('SELECT id, counter FROM acct ORDER BY id');
    if (JSON.stringify(got) === JSON.stringify(want)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const res = await out;
  expect(res.code, res.stderr.slice(-2000)).toBe(0);

  expect(await db.query('SELECT id, counter FROM acct ORDER BY id')).toEqual(want);
  const v = await target.verifyTables({ source: src, target: db.url, tables: ['acct'] });
  expect(v).toEqual({ equal: true, tables: [{ table: 'public.acct', missing: [], extra: [], different: [] }] });
  const [cp] = await db.query<{ position: string }>(
    `SELECT position FROM walstream_checkpoints WHERE pipeline = 'crash' AND sink = '${target.sinkName}'`,
  );
  const [lsn, index] = (cp?.position ?? '').split(':') as [string, string];
  expect(res.stdout).toContain(`position ${cp?.position}`);
  expect(
    parseLsn(lsn) > last.before && parseLsn(lsn) < last.after,
    `${lsn} within ${formatLsn(last.before)}..${formatLsn(last.after)}`,
  ).toBe(true);
  expect(index).toBe('0');
}
