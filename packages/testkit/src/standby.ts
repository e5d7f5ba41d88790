/**
 * A streaming standby's data directory, made from a running primary the way pg_basebackup does it (the
 * non-exclusive low-level backup API: pg_backup_start, copy the files, pg_backup_stop, write its backup_label),
 * with the files pg_basebackup leaves out left out. The embedded Postgres 18 ships no pg_basebackup, and the
 * system's (15) refuses a newer server. WAL is not copied: the standby streams it through a physical slot
 * created before the backup starts, so nothing it needs is recycled.
 */
import { copyFile, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export interface StandbyOf {
  /** The primary's `postgres` database URL. */
  connectionString: string;
  host: string;
  port: number;
  user: string;
  dataDir: string;
  /** Physical replication slot on the primary for this standby (created when missing). */
  slot: string;
}

// As pg_basebackup (basebackup.c): folders copied empty, files never copied.
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_stat_tmp',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
]);
const SKIP_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_internal.init',
  'backup_label',
  'tablespace_map',
  'current_logfiles',
  'postgresql.auto.conf.tmp',
]);

/** Fills `dataDir` (which must not exist) with a base backup of the primary; returns the standby's settings. */
export async function copyForStandby(primary: StandbyOf, dataDir: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: primary.connectionString });
  await c.connect();
  try {
    await c.query(
      `SELECT pg_create_physical_replication_slot($1, true)
        WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
      [primary.slot],
    );
    // Non-exclusive: the backup lives as long as this session, which must also stop it.
    await c.query(`SELECT pg_backup_start('walstream standby', true)`);
    await copyTree(primary.dataDir, dataDir, true);
    const r = await c.query<{ labelfile: string; spcmapfile: string | null }>(
      'SELECT labelfile, spcmapfile FROM pg_backup_stop(false)',
    );
    const row = r.rows[0] as { labelfile: string; spcmapfile: string | null };
    await writeFile(join(dataDir, 'backup_label'), row.labelfile);
    if (row.spcmapfile) await writeFile(join(dataDir, 'tablespace_map'), row.spcmapfile);
  } finally {
    await c.end();
  }
  await writeFile(join(dataDir, 'standby.signal'), '');
  return {
    // dbname: a standby that synchronises failover slots (sync_replication_slots) connects to a database.
    primary_conninfo: `host=${primary.host} port=${primary.port} user=${primary.user} dbname=postgres`,
    primary_slot_name: primary.slot,
    hot_standby: 'on',
    hot_standby_feedback: 'on',
  };
}

async function copyTree(from: string, to: string, top: boolean): Promise<void> {
  await mkdir(to, { mode: 0o700 });
  for (const e of await readdir(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    try {
      if (e.isSymbolicLink()) await symlink(await readlink(src), dst);
      else if (e.isDirectory()) {
        if (top && EMPTY_DIRS.has(e.name)) {
          await mkdir(dst, { mode: 0o700 });
          if (e.name === 'pg_wal') {
            await mkdir(join(dst, 'archive_status'), { mode: 0o700 });
            await mkdir(join(dst, 'summaries'), { mode: 0o700 });
          }
        } else await copyTree(src, dst, false);
      } else if (!SKIP_FILES.has(e.name)) {
        await copyFile(src, dst);
      }
    } catch (err) {
      // A file the running server removed while we copied (a temporary file, a dropped relation): the WAL the
      // standby replays from the backup's start brings it back to a consistent state, as with pg_basebackup.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
