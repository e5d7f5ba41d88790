/**
 * Faults with a clear outcome: a base backup whose walsender is terminated fails with BaseBackupError and leaves
 * an empty directory; a restore to a time the archive does not reach fails with RestoreError naming the reason;
 * a reader on a logical slot is refused.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostgresCluster } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseBackupError, createPhysicalReader, RestoreError, restore, takeBaseBackup } from '../src/index.js';
import { freePort, scratch, sql, startCluster, versions, waitUntil } from './helpers.js';

describe.each(versions)('PostgreSQL %i: faults', (version) => {
  let cluster: PostgresCluster;
  let root: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    cluster = await startCluster(version);
    root = await scratch(`faults${version}`);
  });
  afterAll(async () => {
    await cluster?.stop();
    await root?.cleanup();
  });

  it('a base backup cut off by the server fails and leaves the directory empty', async () => {
    const dir = join(root.dir, 'cut');
    const backup = takeBaseBackup({
      connectionString: cluster.connectionString,
      dir,
      maxRateKb: 32, // slow enough to be cut off mid-stream
      applicationName: 'walstream-cut-backup',
    }).then(
      () => null,
      (e: unknown) => e, // observed at once: it may fail before the assertion below is reached
    );
    await waitUntil('the backup to stream', async () => {
      const rows = await sql(
        cluster.connectionString,
        `SELECT 1 FROM pg_stat_replication WHERE application_name = 'walstream-cut-backup'`,
      );
      return rows.length === 1 && (await readdir(dir).catch(() => [])).length > 0;
    });
    await sql(
      cluster.connectionString,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'walstream-cut-backup'`,
    );
    expect(await backup).toBeInstanceOf(BaseBackupError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a restore to a time past the archive fails with the reason', async () => {
    const dir = join(root.dir, 'base');
    await takeBaseBackup({ connectionString: cluster.connectionString, dir });
    const err = await restore({
      backup: dir,
      targetDir: join(root.dir, 'future'),
      target: { time: new Date(Date.now() + 86_400_000) },
      start: { port: await freePort(), binDir: cluster.binDir, timeoutMs: 120_000 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect((err as Error).message).toMatch(/recovery ended before configured recovery target was reached/);
    // Nothing left behind: the same command can run again (an empty directory that was there stays, emptied).
    expect(existsSync(join(root.dir, 'future'))).toBe(false);
    await mkdir(join(root.dir, 'kept'));
    const again = await restore({
      backup: dir,
      targetDir: join(root.dir, 'kept'),
      target: { time: new Date(Date.now() + 86_400_000) },
      start: { port: await freePort(), binDir: cluster.binDir, timeoutMs: 120_000 },
    }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RestoreError);
    expect(await readdir(join(root.dir, 'kept'))).toEqual([]);
  });

  it('refuses a logical slot', async () => {
    await sql(cluster.connectionString, `SELECT pg_create_logical_replication_slot('faults_logical', 'pgoutput')`);
    const reader = createPhysicalReader({ connectionString: cluster.connectionString, slot: 'faults_logical' });
    await expect(reader.open()).rejects.toThrow(/is logical, not physical/);
    await sql(cluster.connectionString, `SELECT pg_drop_replication_slot('faults_logical')`);
  });
});
