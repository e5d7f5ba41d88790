/**
 * Crash test: a child process runs Postgres -> Pipeline -> file sink + a recording sink while rows are written;
 * it is killed with SIGKILL at random points and restarted. Oracles: every committed change ends up in the file
 * (O1); the recording sink (no dedup) sees an event again only in a later run and only when it was after the
 * slot's confirmed position at the kill before that run (O2); per-key order follows commit order (O3); the slot
 * never confirmed past what the file held at any kill (O5).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ChangeEvent, parseLsn } from '@walstream/core';
import { readEvents } from '@walstream/sink-file';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { runChild, waitForLine } from './children/run.js';
import { freshTable, servers, slotInfo } from './helpers.js';

const KILLS = 12;

async function fileEvents(path: string): Promise<ChangeEvent[]> {
  try {
    return readEvents('jsonl', 'events', await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

describe.each(servers())('Postgres $version crash test', ({ url: adminUrl }) => {
  it(`loses nothing across ${KILLS} SIGKILLs`, async () => {
    const { url, slot } = await freshTable(adminUrl, 'CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)');
    const setup = createPostgresReader({ connectionString: url, slot, publication: 'crash_pub', tables: ['kv'] });
    await setup.open();
    await setup.close();
    const dir = await mkdtemp(join(tmpdir(), 'walstream-crash-'));
    const path = join(dir, 'changes.jsonl');
    const recordPath = join(dir, 'deliveries.log');

    // Writer: small transactions inserting new keys and bumping existing ones; every committed version is recorded.
    const expected = new Set<string>();
    let writing = true;
    let nextId = 1;
    const writer = (async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      while (writing) {
        await c.query('BEGIN');
        const versions: string[] = [];
        for (let i = 0; i < 3; i++) {
          const id = nextId++;
          await c.query('INSERT INTO kv VALUES ($1, 0)', [id]);
          versions.push(`${id}:0`);
        }
        const bumped = await c.query<{ id: number; v: number }>(
          'UPDATE kv SET v = v + 1 WHERE id IN (SELECT id FROM kv ORDER BY random() LIMIT 2) RETURNING id, v',
        );
        for (const r of bumped.rows) versions.push(`${r.id}:${r.v}`);
        await c.query('COMMIT');
        for (const v of versions) expected.add(v);
        await new Promise((r) => setTimeout(r, 2));
      }
      await c.end();
    })();

    const snapshots: { confirmed: bigint; held: Set<string> }[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = runChild('./crash-child.ts', [url, slot, path, recordPath, String(k)]);
      await waitForLine(child, 'started');
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      // After the kill: what the slot confirmed, and what the file holds.
      const confirmed = parseLsn(((await slotInfo(url, slot)) as { confirmed: string }).confirmed);
      snapshots.push({ confirmed, held: new Set((await fileEvents(path)).map((e) => e.id)) });
    }
    writing = false;
    await writer;

    // A last, clean run catches up with everything committed.
    const child = runChild('./crash-child.ts', [url, slot, path, recordPath, String(KILLS)]);
    await waitForLine(child, 'started');
    for (let i = 0; i < 600; i++) {
      const have = new Set((await fileEvents(path)).map((e) => `${e.after?.id}:${e.after?.v}`));
      if ([...expected].every((v) => have.has(v))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;

    const all = await fileEvents(path);
    const versions = new Set(all.map((e) => `${e.after?.id}:${e.after?.v}`));
    // O1: every committed version is in the file.
    expect([...expected].filter((v) => !versions.has(v))).toEqual([]);
    expect(expected.size).toBeGreaterThan(KILLS * 5);
    // O2 in the file: no event id twice (the file sink skips replays at or before its last record).
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    // O2 for a sink without dedup: an event comes again only in a later run (never twice in one reader's
    // lifetime), and only if the slot had not confirmed it at the kill before that run.
    const runsOf = new Map<string, number[]>();
    for (const line of (await readFile(recordPath, 'utf8')).split('\n')) {
      if (line === '') continue;
      const [run, id] = line.split(' ') as [string, string];
      const runs = runsOf.get(id) ?? [];
      runs.push(Number(run));
      runsOf.set(id, runs);
    }
    const violations: string[] = [];
    for (const [id, runs] of runsOf) {
      for (let i = 1; i < runs.length; i++) {
        const run = runs[i] as number;
        if (run === runs[i - 1]) violations.push(`${id} twice in run ${run}`);
        else if (parseLsn(id.split(':')[0] as string) < (snapshots[run - 1] as { confirmed: bigint }).confirmed) {
          violations.push(`${id} again in run ${run} though confirmed before it`);
        }
      }
    }
    expect(violations).toEqual([]);
    expect(new Set(all.map((e) => e.id))).toEqual(new Set(runsOf.keys()));
    // O3: positions strictly increase through the file, and each key's versions only go up.
    for (let i = 1; i < all.length; i++) {
      const a = (all[i - 1] as ChangeEvent).position;
      const b = (all[i] as ChangeEvent).position;
      expect(a.lsn < b.lsn || (a.lsn === b.lsn && a.index < b.index)).toBe(true);
    }
    const last = new Map<number, number>();
    for (const e of all) {
      const id = e.after?.id as number;
      const v = e.after?.v as number;
      expect(v).toBeGreaterThanOrEqual(last.get(id) ?? 0);
      last.set(id, v);
    }
    // O5: at every kill, each event of a transaction that committed before the confirmed position was in the file.
    for (const s of snapshots) {
      const missing = all.filter((e) => e.position.lsn < s.confirmed && !s.held.has(e.id));
      expect(missing.map((e) => e.id)).toEqual([]);
    }
    await rm(dirname(path), { recursive: true, force: true }); // kept only when a check above failed, to look at
  }, 240_000);
});
