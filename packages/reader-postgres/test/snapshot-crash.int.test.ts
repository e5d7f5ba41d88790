/**
 * SIGKILL in the middle of an initial snapshot (and again in the middle of its resumption), with writes going
 * on: the next run resumes from the last chunk the file holds (not from zero) as an on-demand snapshot, and the
 * file, replayed by primary key, equals the source.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeEvent } from '@walstream/core';
import { readEvents } from '@walstream/sink-file';
import { describe, expect, it } from 'vitest';
import { runChild, waitForLine } from './children/run.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { createReplica, diff, replicaRows, sourceRows, startWriter, until } from './snapshot-helpers.js';

const COLS = ['id', 'v', 'pad'];

async function fileEvents(path: string): Promise<ChangeEvent[]> {
  try {
    return readEvents('jsonl', 'events', await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Resolves when the child reports at least `rows` copied rows of `items` in a snapshot matching `id`. */
function progressAt(child: ChildProcess, id: RegExp, rows: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d) => {
      buf += d;
      for (const m of buf.matchAll(/progress (\S+) (\d+)/g)) {
        if (id.test(m[1] as string) && Number(m[2]) >= rows) resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before ${rows} rows`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function checkpoint(
  url: string,
  slot: string,
): Promise<{ id: string; lastKey: string[] | null; done: boolean; tableIndex: number }[]> {
  const r = await sql(url, 'SELECT state FROM walstream_snapshot_checkpoints WHERE slot = $1 ORDER BY updated_at', [
    slot,
  ]);
  return r.rows.map((x) => x.state);
}

describe.each(servers())('Postgres $version snapshot crash', ({ url: adminUrl }) => {
  it('resumes a killed initial snapshot from its last durable chunk', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text)');
    await sql(url, 'CREATE TABLE marker (id int PRIMARY KEY)');
    await sql(url, `INSERT INTO items SELECT 2 * g, g % 7, md5(g::text) FROM generate_series(1, 100000) g`);
    const slot = slotName(url);
    const path = join(await mkdtemp(join(tmpdir(), 'walstream-snapcrash-')), 'changes.jsonl');
    let hot = 0;
    const writer = startWriter(url, () => hot, 4000);

    // Run 1: killed during the exported-snapshot copy.
    let child = runChild('./snapshot-child.ts', [url, slot, path]);
    await progressAt(child, /^initial$/, 30000);
    await kill(child);
    const [afterKill] = await checkpoint(url, slot);
    expect(afterKill).toMatchObject({ id: 'initial', done: false, tableIndex: 0 });
    const boundary = Number(afterKill?.lastKey?.[0]);
    expect(boundary).toBeGreaterThan(0); // resumes past what the file holds, not from zero
    const run1 = await fileEvents(path);
    // Every chunk up to the checkpoint's boundary is in the file (whole chunks of 1000 rows).
    const held = run1.filter((e) => e.operation === 'READ' && (e.key?.id as number) <= boundary).length;
    expect(held).toBeGreaterThan(0);
    expect(held % 1000).toBe(0);
    hot = boundary;

    // Run 2: resumes as an on-demand snapshot; killed again part-way.
    child = runChild('./snapshot-child.ts', [url, slot, path]);
    await waitForLine(child, 'started');
    await progressAt(child, /^initial$/, 8000);
    await kill(child);
    const [mid] = await checkpoint(url, slot);
    const boundary2 = Number(mid?.lastKey?.[0] ?? 0);

    // Run 3: finishes, then streams.
    child = runChild('./snapshot-child.ts', [url, slot, path]);
    await waitForLine(child, 'started');
    await until(async () => (await checkpoint(url, slot))[0]?.done === true, 'the resumed snapshot to finish');
    await writer.stop();
    await sql(url, 'INSERT INTO marker VALUES (1)');
    await until(async () => (await fileEvents(path)).some((e) => e.table === 'marker'), 'the marker');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;

    const all = await fileEvents(path);
    const replica = createReplica('items', ['id']);
    await replica.write(
      { seq: 1, events: all, commits: [], schemaChanges: [], bytes: 0 },
      { signal: new AbortController().signal },
    );
    const want = await sourceRows(url, 'items', ['id'], COLS);
    expect(diff(want, replicaRows(replica, ['id'], COLS))).toEqual([]);
    expect(replica.rows.size).toBe(want.size);
    // The resumed runs copied only keys after the boundary each run started from.
    const resumedReads = all.filter((e) => e.operation === 'READ' && e.position.lsn !== run1[0]?.position.lsn);
    expect(resumedReads.length).toBeGreaterThan(0);
    expect(resumedReads.every((e) => (e.key?.id as number) > boundary)).toBe(true);
    if (boundary2 > boundary) {
      const run3 = resumedReads.filter((e) => (e.key?.id as number) <= boundary2);
      // Keys up to boundary2 were copied in run 2 only (run 3 started after them).
      expect(new Set(run3.map((e) => e.key?.id)).size).toBe(run3.length);
    }
    expect(writer.ops).toBeGreaterThan(0);
  }, 240_000);
});
