/**
 * The design's scenario on PG15 and PG18: archive WAL through a Pipeline, take a base backup, fill a table,
 * record time T, drop the table; a restore to T shows every row as of T and none of the later changes; a
 * restore to an LSN stops there. The archive reads continuously (pg_waldump on 15), the backup verifies
 * (pg_verifybackup on 15, a manifest check on 18).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createPipeline, type Pipeline } from '@walstream/core';
import type { PostgresCluster } from '@walstream/testkit';
import pgClient from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BaseBackupResult,
  createPhysicalReader,
  createWalArchiveSink,
  restore,
  takeBaseBackup,
} from '../src/index.js';
import {
  currentLsn,
  execFileAsync,
  formatLsn,
  freePort,
  PG15_BIN,
  scratch,
  segments,
  sql,
  startCluster,
  versions,
  waitUntil,
} from './helpers.js';
import { verifyManifest, verifyWalPages } from './verify.js';

describe.each(versions)('PostgreSQL %i: archive, base backup, point-in-time restore', (version) => {
  let pg: PostgresCluster;
  let root: { dir: string; cleanup(): Promise<void> };
  let archiver: Pipeline;
  let backup: BaseBackupResult;
  let archive: string;
  let gzArchive: string;
  let beforeSwitch: bigint;
  let dropXid: string;
  let backupDir: string;
  const progress: { doneBytes: number; totalBytes: number | null }[] = [];
  let timeT: string;
  let lsnAfterFirst: bigint;
  let endLsn: bigint;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    pg = await startCluster(version);
    root = await scratch(`pitr${version}`);
    archive = join(root.dir, 'wal');
    gzArchive = join(root.dir, 'wal-gz');
    backupDir = join(root.dir, 'base');
    archiver = createPipeline({
      name: 'wal',
      reader: createPhysicalReader({
        connectionString: pg.connectionString,
        slot: 'wal_archive',
        statusIntervalMs: 500,
        // as walstream archive runs it: chunk memory reused once committed (pg_waldump and the restores check it)
        reuseBuffers: true,
      }),
      sinks: [
        createWalArchiveSink({ dir: archive }),
        createWalArchiveSink({ dir: gzArchive, compression: 'gzip', name: 'gz' }),
      ],
    });
    await archiver.start();

    await sql(pg.connectionString, 'CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
    await sql(pg.connectionString, `INSERT INTO items SELECT g, 'before backup ' || g FROM generate_series(1, 500) g`);
    backup = await takeBaseBackup({
      connectionString: pg.connectionString,
      dir: backupDir,
      onProgress: (p) => progress.push(p),
    });

    await sql(pg.connectionString, `INSERT INTO items SELECT g, 'first ' || g FROM generate_series(501, 1000) g`);
    lsnAfterFirst = await currentLsn(pg.connectionString);
    await sql(pg.connectionString, `INSERT INTO items SELECT g, 'second ' || g FROM generate_series(1001, 3000) g`);
    await sql(pg.connectionString, `UPDATE items SET note = 'updated before T' WHERE id <= 10`);
    const [t] = await sql<{ t: string }>(
      pg.connectionString,
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`,
    );
    timeT = (t as { t: string }).t;
    await new Promise((r) => setTimeout(r, 50));
    await sql(pg.connectionString, `UPDATE items SET note = 'updated after T' WHERE id <= 100`);
    await sql(pg.connectionString, `INSERT INTO items SELECT g, 'after T ' || g FROM generate_series(3001, 3100) g`);
    await sql(pg.connectionString, `SELECT pg_create_restore_point('before_drop')`);
    await sql(
      pg.connectionString,
      `INSERT INTO items SELECT g, 'after the restore point' FROM generate_series(3101, 3110) g`,
    );
    const c = new pgClient.Client({ connectionString: pg.connectionString });
    await c.connect();
    await c.query('BEGIN');
    await c.query('DROP TABLE items');
    dropXid = (await c.query('SELECT pg_current_xact_id()::text AS x')).rows[0].x;
    await c.query('COMMIT');
    await c.end();
    beforeSwitch = await currentLsn(pg.connectionString);
    await sql(pg.connectionString, 'SELECT pg_switch_wal()');
    await sql(pg.connectionString, 'CREATE TABLE later (x int)');
    endLsn = await currentLsn(pg.connectionString);
    await waitUntil('the archive to catch up', () => (archiver.status().committed?.lsn ?? 0n) >= endLsn);
  });

  afterAll(async () => {
    for (const s of stops) await s().catch(() => {});
    await archiver?.stop();
    await pg?.stop();
    await root?.cleanup();
  });

  it('takes a base backup with manifest and progress that verifies', async () => {
    expect(backup.timeline).toBe(1);
    expect(backup.endLsn).toBeGreaterThanOrEqual(backup.startLsn);
    expect(existsSync(join(backupDir, 'backup_label'))).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]?.doneBytes).toBeGreaterThan(1_000_000);
    // The server's total leaves out the WAL sent at the end: the total grows with it, never below what is done.
    for (const p of progress) expect(p.doneBytes).toBeLessThanOrEqual(p.totalBytes ?? Number.POSITIVE_INFINITY);
    const last = progress[progress.length - 1] as { doneBytes: number; totalBytes: number | null };
    expect(last.totalBytes).toBe(last.doneBytes);
    expect(await verifyManifest(backupDir)).toBeGreaterThan(500);
    if (version === 15) {
      const r = await execFileAsync(join(PG15_BIN, 'pg_verifybackup'), [backupDir]);
      expect(r.stdout).toMatch(/backup successfully verified/);
    }
  });

  it('archives every segment with no gap, readable as one WAL stream', async () => {
    const names = await segments(archive);
    expect(names.length).toBeGreaterThanOrEqual(2);
    const [id] = await sql<{ s: string }>(
      pg.connectionString,
      'SELECT system_identifier::text AS s FROM pg_control_system()',
    );
    await verifyWalPages(archive, names, 16 * 1024 * 1024, (id as { s: string }).s);
    if (version === 15) {
      // From the first archived segment's start to the last record before the switch: every record decodes.
      const first = names[0] as string;
      const start = formatLsn(BigInt(`0x${first.slice(16)}`) * 16n * 1024n * 1024n);
      const r = await execFileAsync(
        join(PG15_BIN, 'pg_waldump'),
        ['-p', archive, '-s', start, '-e', formatLsn(beforeSwitch), '--stats'],
        {
          maxBuffer: 64 << 20,
        },
      );
      expect(r.stdout).toMatch(/Heap/);
    }
  });

  it('compresses completed segments with gzip: the same bytes', async () => {
    const plain = await segments(archive);
    const gz = (await readdir(gzArchive)).filter((f) => f.endsWith('.gz')).sort();
    expect(gz).toEqual(plain.map((n) => `${n}.gz`));
    for (const n of plain.slice(-2)) {
      const a = await readFile(join(archive, n));
      const b = gunzipSync(await readFile(join(gzArchive, `${n}.gz`)));
      expect(b.equals(a)).toBe(true);
    }
  });

  it('restores to time T: every row as of T, none of the later changes', async () => {
    const port = await freePort();
    const db = await restore({
      backup: backupDir,
      archive,
      targetDir: join(root.dir, 'restore-time'),
      target: { time: timeT },
      start: { port, binDir: pg.binDir },
    });
    stops.push(db.stop);
    const rows = await sql<{ n: string; upd: string; late: string }>(
      db.connectionString as string,
      `SELECT count(*)::text AS n, count(*) FILTER (WHERE note = 'updated before T')::text AS upd,
              count(*) FILTER (WHERE note LIKE '%after T%')::text AS late FROM items`,
    );
    expect(rows[0]).toEqual({ n: '3000', upd: '10', late: '0' });
    expect(db.lsn).not.toBeNull();
    expect(db.time === null || db.time <= timeT).toBe(true);
    const [inRecovery] = await sql<{ r: boolean }>(db.connectionString as string, 'SELECT pg_is_in_recovery() AS r');
    expect(inRecovery?.r).toBe(false);
    await db.stop();
  });

  it('restores to time T from the gzip archive', async () => {
    const db = await restore({
      backup: backupDir,
      archive: gzArchive,
      targetDir: join(root.dir, 'restore-gz'),
      target: { time: timeT },
      start: { port: await freePort(), binDir: pg.binDir },
    });
    stops.push(db.stop);
    const [r] = await sql<{ n: string }>(db.connectionString as string, 'SELECT count(*)::text AS n FROM items');
    expect(r?.n).toBe('3000');
    await db.stop();
  });

  it('restores to a named restore point, and to just before a transaction (xid, not inclusive)', async () => {
    const named = await restore({
      backup: backupDir,
      archive,
      targetDir: join(root.dir, 'restore-name'),
      target: { name: 'before_drop' },
      start: { port: await freePort(), binDir: pg.binDir },
    });
    stops.push(named.stop);
    const [a] = await sql<{ n: string }>(named.connectionString as string, 'SELECT count(*)::text AS n FROM items');
    expect(a?.n).toBe('3100');
    await named.stop();
    const beforeDrop = await restore({
      backup: backupDir,
      archive,
      targetDir: join(root.dir, 'restore-xid'),
      target: { xid: dropXid },
      inclusive: false,
      start: { port: await freePort(), binDir: pg.binDir },
    });
    stops.push(beforeDrop.stop);
    const [b] = await sql<{ n: string }>(
      beforeDrop.connectionString as string,
      'SELECT count(*)::text AS n FROM items',
    );
    expect(b?.n).toBe('3110');
    await beforeDrop.stop();
  });

  it('restores to an LSN', async () => {
    const port = await freePort();
    const db = await restore({
      backup: backupDir,
      archive,
      targetDir: join(root.dir, 'restore-lsn'),
      target: { lsn: lsnAfterFirst },
      start: { port, binDir: pg.binDir },
    });
    stops.push(db.stop);
    const [r] = await sql<{ n: string; max: number }>(
      db.connectionString as string,
      'SELECT count(*)::text AS n, max(id) AS max FROM items',
    );
    expect(r).toEqual({ n: '1000', max: 1000 });
    expect(db.lsn as bigint).toBeGreaterThanOrEqual(lsnAfterFirst);
    await db.stop();
  });
});
