/**
 * REDO: a standby made by restore({ standby }) from a base backup follows its primary. Then it is promoted
 * (timeline 2) and the physical reader, on a slot made before the promotion (restart point on timeline 1),
 * streams timeline 1 to the switch point and follows onto timeline 2: the archive gets the history file and
 * the new timeline's segments.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPipeline } from '@walstream/core';
import type { PostgresCluster } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPhysicalReader,
  createWalArchiveSink,
  type RestoredCluster,
  restore,
  takeBaseBackup,
} from '../src/index.js';
import {
  currentLsn,
  execFileAsync,
  formatLsn,
  freePort,
  PG15_BIN,
  parseLsn,
  scratch,
  sql,
  startCluster,
  versions,
  waitUntil,
} from './helpers.js';
import { verifyWalPages } from './verify.js';

const SEG = 16 * 1024 * 1024;

describe.each(versions)('PostgreSQL %i: standby and timeline switch', (version) => {
  let primary: PostgresCluster;
  let root: { dir: string; cleanup(): Promise<void> };
  let standby: RestoredCluster | null = null;

  beforeAll(async () => {
    primary = await startCluster(version);
    root = await scratch(`standby${version}`);
  });
  afterAll(async () => {
    await standby?.stop();
    await primary?.stop();
    await root?.cleanup();
  });

  it('the standby follows the primary; after promotion the reader follows the timeline switch', async () => {
    const p = primary.connectionString;
    await sql(p, 'CREATE TABLE orders (id int PRIMARY KEY, v text)');
    await sql(p, `INSERT INTO orders SELECT g, 'a' FROM generate_series(1, 100) g`);
    await sql(p, `SELECT pg_create_physical_replication_slot('standby1')`);
    const backupDir = join(root.dir, 'base');
    await takeBaseBackup({ connectionString: p, dir: backupDir });

    standby = await restore({
      backup: backupDir,
      targetDir: join(root.dir, 'standby'),
      standby: { primaryConninfo: p, slot: 'standby1' },
      start: { port: await freePort(), binDir: primary.binDir },
    });
    const s = standby.connectionString as string;
    const [rec] = await sql<{ r: boolean }>(s, 'SELECT pg_is_in_recovery() AS r');
    expect(rec?.r).toBe(true);

    await sql(p, `INSERT INTO orders SELECT g, 'b' FROM generate_series(101, 600) g`);
    await waitUntil('the standby to replay the new rows', async () => {
      const [r] = await sql<{ n: number }>(s, 'SELECT count(*)::int AS n FROM orders');
      return r?.n === 600;
    });
    const [walr] = await sql<{ state: string }>(
      p,
      `SELECT state FROM pg_stat_replication WHERE application_name <> 'walstream-physical'`,
    );
    expect(walr?.state).toBe('streaming');

    // A slot on the standby: its restart point stays on timeline 1 across the promotion.
    await sql(s, `SELECT pg_create_physical_replication_slot('arch', true)`);
    await sql(p, `INSERT INTO orders SELECT g, 'c' FROM generate_series(601, 700) g`);
    await waitUntil('the standby to replay', async () => {
      const [r] = await sql<{ n: number }>(s, 'SELECT count(*)::int AS n FROM orders');
      return r?.n === 700;
    });
    await sql(s, 'SELECT pg_promote(true)');
    await sql(s, `INSERT INTO orders SELECT g, 'after promotion' FROM generate_series(701, 800) g`);
    const end = await currentLsn(s);
    // The switch record ends the segment that holds `end`; wait for that segment's last byte, not for `end`
    // itself: data past `end` can be committed while the segment is still a .partial file.
    const [sw] = await sql<{ l: string }>(s, 'SELECT pg_switch_wal()::text AS l');
    const switched = parseLsn((sw as { l: string }).l);
    const segmentEnd = ((switched + BigInt(SEG) - 1n) / BigInt(SEG)) * BigInt(SEG);

    const archive = join(root.dir, 'wal');
    const reader = createPhysicalReader({ connectionString: s, slot: 'arch', statusIntervalMs: 200 });
    const pipeline = createPipeline({ name: 'tl', reader, sinks: [createWalArchiveSink({ dir: archive })] });
    await pipeline.start();
    try {
      await waitUntil(
        'the archive to complete the switched segment',
        () => (pipeline.status().committed?.lsn ?? 0n) >= segmentEnd,
        120_000,
      );
    } finally {
      await pipeline.stop();
    }
    expect(reader.timeline).toBe(2);
    const files = (await readdir(archive)).sort();
    expect(files).toContain('00000002.history');
    expect(await readFile(join(archive, '00000002.history'), 'utf8')).toMatch(/^1\t[0-9A-F]+\/[0-9A-F]+/);
    const tl1 = files.filter((f) => f.startsWith('00000001'));
    const tl2 = files.filter((f) => /^00000002[0-9A-F]{16}$/.test(f));
    expect(tl1.length).toBeGreaterThan(0);
    expect(tl2.length).toBeGreaterThan(0);
    const [id] = await sql<{ s: string }>(s, 'SELECT system_identifier::text AS s FROM pg_control_system()');
    await verifyWalPages(archive, tl2, SEG, (id as { s: string }).s);
    if (version === 15) {
      const first = tl2[0] as string;
      const start = formatLsn(BigInt(`0x${first.slice(16)}`) * BigInt(SEG));
      const r = await execFileAsync(
        join(PG15_BIN, 'pg_waldump'),
        ['-p', archive, '-t', '2', '-s', start, '-e', formatLsn(end), '--stats'],
        {
          maxBuffer: 64 << 20,
        },
      );
      expect(r.stdout).toMatch(/Heap/);
    }
  });
});
