/**
 * restore: turns a base backup plus the WAL archive into a data directory that recovers to a point in time
 * (recovery.signal, restore_command, recovery_target_*, recovery_target_action=promote), or into a streaming
 * standby (standby.signal, primary_conninfo); optionally starts it and reports where recovery stopped.
 */
import { statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, formatLsn, type Lsn, parseLsn } from '@walstream/core';
import pg from 'pg';
import { RestoreError } from './errors.js';
import { findBinDir, serverUser, spawnServer, waitFor } from './server.js';

/** Where recovery stops: exactly one of the four. */
export interface RestoreTarget {
  /** A timestamp (ISO 8601 with offset, or a Date): stop at the first commit after it (before it when not inclusive). */
  time?: string | Date;
  /** An LSN (`X/Y` or bigint). */
  lsn?: Lsn | string;
  /** A transaction id. */
  xid?: string | number;
  /** A restore point made with pg_create_restore_point(name). */
  name?: string;
}

export interface RestoreStartOptions {
  /** TCP port on 127.0.0.1 (or `host`). */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Folder of the `postgres` binary; must match the backup's major version. @default found from PG_VERSION */
  binDir?: string;
  /** OS user that runs the server (owns the data directory). @default 'postgres' when running as root, else the current user */
  user?: string;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
  /** How long to wait for recovery to finish (or the standby to accept connections). @default 600000 */
  timeoutMs?: number;
  /** Database in the returned connection string. @default 'postgres' */
  database?: string;
  /** User in the returned connection string (also used to wait for recovery). @default 'postgres' */
  connectUser?: string;
  /** Password for `connectUser`, when the restored server's pg_hba.conf asks for one. @default none */
  password?: string;
}

export interface RestoreStandbyOptions {
  /** Connection string of the primary (libpq URL or key=value) for primary_conninfo. */
  primaryConninfo: string;
  /** Physical slot on the primary for this standby. */
  slot?: string;
}

export interface RestoreOptions {
  /** A base backup directory (takeBaseBackup's `dir`). It is copied, never modified. */
  backup: string;
  /** The WAL archive directory (createWalArchiveSink's `dir`). Without it only the backup's own WAL is replayed. */
  archive?: string;
  /** New data directory: created, or must be empty. */
  targetDir: string;
  /** Recovery target; omitted: replay all WAL there is, then promote. */
  target?: RestoreTarget;
  /** Stop just after the target (true) or just before it (false). @default true */
  inclusive?: boolean;
  /** recovery_target_timeline. @default 'latest' */
  timeline?: 'latest' | 'current' | number;
  /** Set up a streaming standby instead of a point-in-time recovery (target is then not allowed). */
  standby?: RestoreStandbyOptions;
  /** Start the server and wait for recovery (or for the standby to accept connections). */
  start?: RestoreStartOptions;
  /**
   * Keep what a failed restore wrote into `targetDir` (to look into it). Otherwise it is removed, as pg_basebackup
   * does, and the directory itself too when the restore created it. @default false
   */
  keepOnFailure?: boolean;
}

export interface RestoredCluster {
  /** The last WAL position replayed (null when not started). */
  readonly lsn: Lsn | null;
  /** Commit time of the last transaction replayed, ISO 8601 UTC (null when none or not started). */
  readonly time: string | null;
  /** postgres:// URL of the started server (null when not started). */
  readonly connectionString: string | null;
  readonly dataDir: string;
  /** Fast shutdown of the started server (the data directory stays). */
  stop(): Promise<void>;
}

export async function restore(options: RestoreOptions): Promise<RestoredCluster> {
  const o = validate(options);
  const target = resolve(o.targetDir);
  const created = (await mkdir(target, { recursive: true, mode: 0o700 })) !== undefined;
  if ((await readdir(target)).length > 0) throw new ConfigError('targetDir', `${target} is not empty`);
  try {
    return await prepare(o, target);
  } catch (err) {
    // As pg_basebackup does: what a failed restore wrote goes, so the same command can run again once its cause is
    // fixed (a target time past the archive, a port in use); a directory that was there stays, emptied.
    if (o.keepOnFailure !== true) await clean(target, created);
    throw err;
  }
}

async function clean(target: string, created: boolean): Promise<void> {
  if (created) await rm(target, { recursive: true, force: true }).catch(() => {});
  else
    for (const f of await readdir(target).catch(() => []))
      await rm(join(target, f), { recursive: true, force: true }).catch(() => {});
}

async function prepare(o: RestoreOptions, target: string): Promise<RestoredCluster> {
  try {
    await cp(resolve(o.backup), target, { recursive: true, preserveTimestamps: true });
    await chmod(target, 0o700);
    await rm(join(target, 'postmaster.pid'), { force: true });
  } catch (err) {
    throw new RestoreError(`cannot copy the backup ${o.backup} into ${target}`, err);
  }

  const conf: string[] = ['', '# walstream restore'];
  // Recovery needs a restore_command; without an archive one that finds nothing replays the backup's own pg_wal.
  const command = o.archive !== undefined ? restoreCommand(resolve(o.archive)) : 'false';
  conf.push(`restore_command = ${confQuote(command)}`);
  conf.push(`recovery_target_timeline = ${confQuote(String(o.timeline ?? 'latest'))}`);
  if (o.standby) {
    conf.push(`primary_conninfo = ${confQuote(o.standby.primaryConninfo)}`);
    if (o.standby.slot) conf.push(`primary_slot_name = ${confQuote(o.standby.slot)}`);
  } else {
    const t = o.target ?? {};
    if (t.time !== undefined) conf.push(`recovery_target_time = ${confQuote(timeText(t.time))}`);
    if (t.lsn !== undefined) {
      conf.push(`recovery_target_lsn = ${confQuote(formatLsn(typeof t.lsn === 'string' ? parseLsn(t.lsn) : t.lsn))}`);
    }
    if (t.xid !== undefined) conf.push(`recovery_target_xid = ${confQuote(String(t.xid))}`);
    if (t.name !== undefined) conf.push(`recovery_target_name = ${confQuote(t.name)}`);
    if (o.target) {
      conf.push(`recovery_target_inclusive = ${o.inclusive === false ? 'off' : 'on'}`);
      conf.push(`recovery_target_action = 'promote'`);
    }
  }
  const autoConf = join(target, 'postgresql.auto.conf');
  const previous = await readFile(autoConf, 'utf8').catch(() => '');
  await writeFile(autoConf, `${previous}${conf.join('\n')}\n`, { mode: 0o600 });
  await writeFile(join(target, o.standby ? 'standby.signal' : 'recovery.signal'), '', { mode: 0o600 });

  if (!o.start) {
    return { lsn: null, time: null, connectionString: null, dataDir: target, stop: async () => {} };
  }
  return startRestored(target, o);
}

async function startRestored(dataDir: string, o: RestoreOptions): Promise<RestoredCluster> {
  const s = o.start as RestoreStartOptions;
  const user = serverUser(s.user);
  const binDir = findBinDir(dataDir, s.binDir);
  if (user) await chownTree(dataDir, user.uid, user.gid);
  const host = s.host ?? '127.0.0.1';
  const settings: Record<string, string | number> = {
    port: s.port,
    listen_addresses: host,
    unix_socket_directories: '',
    // The restored copy must never archive into the source's archive.
    archive_mode: 'off',
    ...s.settings,
  };
  const auth = `${encodeURIComponent(s.connectUser ?? 'postgres')}${s.password ? `:${encodeURIComponent(s.password)}` : ''}`;
  const url = `postgres://${auth}@${host}:${s.port}/${encodeURIComponent(s.database ?? 'postgres')}`;
  const timeout = s.timeoutMs ?? 600_000;
  for (let attempt = 0; ; attempt++) {
    const server = spawnServer(binDir, dataDir, settings, user);
    try {
      if (o.standby) {
        await waitFor(server, url, async () => true, timeout, 'the standby to accept connections');
      } else {
        await waitFor(
          server,
          url,
          async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r === false,
          timeout,
          'recovery to finish',
        );
      }
      return await reached(url, dataDir, () => server.stop());
    } catch (err) {
      await server.stop();
      // Recovery needs max_connections, max_prepared_transactions, ... at least as high as on the source; the
      // server names the setting and the source's value: raise it and start again (recovery resumes).
      const low = LOWER_SETTING.exec(server.log());
      if (low && attempt < 8) {
        settings[low[1] as string] = Number(low[2]);
        continue;
      }
      throw err;
    }
  }
}

const LOWER_SETTING = /(\w+) = \d+ is a lower setting than on the primary server, where its value was (\d+)/;

async function reached(url: string, dataDir: string, stop: () => Promise<void>): Promise<RestoredCluster> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT pg_last_wal_replay_lsn()::text AS lsn,
              to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`,
    );
    const row = r.rows[0] as { lsn: string | null; time: string | null };
    return { lsn: row.lsn ? parseLsn(row.lsn) : null, time: row.time, connectionString: url, dataDir, stop };
  } finally {
    await c.end();
  }
}

/**
 * The archive holds `<segment>`, `<segment>.gz` and, for the segment being written, `<segment>.partial`
 * (its tail is zeros, which recovery reads as the end of WAL).
 */
export function restoreCommand(archive: string): string {
  const dir = shQuote(archive).replace(/%/g, '%%');
  return (
    `f=${dir}/%f; if [ -f "$f" ]; then cp "$f" "%p"; ` +
    `elif [ -f "$f.gz" ]; then gzip -dc "$f.gz" > "%p"; ` +
    `elif [ -f "$f.partial" ]; then cp "$f.partial" "%p"; else exit 1; fi`
  );
}

function validate(o: RestoreOptions): RestoreOptions {
  if (typeof o?.backup !== 'string' || o.backup === '')
    throw new ConfigError('backup', 'a backup directory is required');
  if (typeof o.targetDir !== 'string' || o.targetDir === '') {
    throw new ConfigError('targetDir', 'a target directory is required');
  }
  if (o.target !== undefined) {
    const keys = (['time', 'lsn', 'xid', 'name'] as const).filter((k) => o.target?.[k] !== undefined);
    if (keys.length !== 1) throw new ConfigError('target', 'give exactly one of time, lsn, xid, name');
    if (o.standby) throw new ConfigError('target', 'a standby follows its primary; it takes no recovery target');
    if (o.target.time !== undefined) timeText(o.target.time);
    if (typeof o.target.lsn === 'string') parseLsn(o.target.lsn);
  }
  // A mistyped archive would not fail the restore: recovery would end quietly at the backup's end, every later
  // change missing. (One the server's user cannot read shows only in the server's log: see the README.)
  if (o.archive !== undefined) {
    const st = statSync(o.archive, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new ConfigError('archive', `${o.archive} is not a directory`);
  }
  if (o.standby && (typeof o.standby.primaryConninfo !== 'string' || o.standby.primaryConninfo === '')) {
    throw new ConfigError('standby.primaryConninfo', 'a connection string to the primary is required');
  }
  if (o.start) {
    const p = o.start.port;
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ConfigError('start.port', 'expected a TCP port');
  }
  return o;
}

/**
 * A time of day, then `Z` or a numeric offset: `2026-11-29` alone ends in `-29`, which a looser pattern took for an
 * offset, and the restored server then read the date in its own time zone.
 */
const TIME_WITH_OFFSET = /[T ]\d\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$/i;

function timeText(t: string | Date): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw new ConfigError('target.time', 'expected an ISO 8601 timestamp or a Date');
  // A string keeps its microseconds (Date has milliseconds only); it must carry an offset to be unambiguous.
  if (typeof t === 'string') {
    if (!TIME_WITH_OFFSET.test(t.trim())) {
      throw new ConfigError(
        'target.time',
        'the timestamp needs a time of day and an offset, e.g. 2026-11-23T15:46:00Z',
      );
    }
    return t.trim().replace(/Z$/i, '+00');
  }
  // Postgres reads the setting before time zone abbreviations are loaded: a numeric offset, not `Z`.
  return d.toISOString().replace(/Z$/, '+00');
}

function confQuote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid).catch(() => {}); // a dangling symlink (pg_tblspc) has nothing to own
  }
}
