/**
 * `walstream restore`: a data directory from a base backup plus the WAL archive, recovering to a time, LSN,
 * transaction id or restore point (or following a primary as a standby). With --port it starts the server,
 * reports where recovery stopped and keeps it running until SIGINT/SIGTERM (then a fast shutdown); without,
 * the directory is left ready for `pg_ctl start`.
 */
import { formatLsn } from '@walstream/core';
import { type RestoreOptions, type RestoreTarget, restore } from '@walstream/physical';
import type { CliIo } from '../cli.js';
import { intOption, onSignals, type PhysicalArgs, PhysicalUsageError, required } from './physical.js';

export async function restoreCommand(v: PhysicalArgs, io: CliIo): Promise<number> {
  const backup = required(v, 'backup', 'restore');
  const targetDir = required(v, 'target-dir', 'restore');
  const target = recoveryTarget(v);
  const port = intOption(v, 'port', 1, 65535);
  if (port === undefined && (v.host || v['bin-dir'] || v.user)) {
    throw new PhysicalUsageError('--host, --bin-dir and --user apply when the server is started: add --port');
  }
  if (v['standby-slot'] && !v['standby-of']) throw new PhysicalUsageError('--standby-slot needs --standby-of URL');
  if (v['standby-of'] && target) {
    throw new PhysicalUsageError('a standby follows its primary: --standby-of takes no --to/--lsn/--xid/--name');
  }
  let timeline: RestoreOptions['timeline'];
  if (v.timeline !== undefined) {
    const n = Number(v.timeline);
    if (v.timeline === 'latest' || v.timeline === 'current') timeline = v.timeline;
    else if (Number.isInteger(n) && n > 0) timeline = n;
    else throw new PhysicalUsageError(`--timeline ${v.timeline}: expected latest, current or a timeline number`);
  }
  const options: RestoreOptions = {
    backup,
    targetDir,
    ...(v.archive !== undefined ? { archive: v.archive } : {}),
    ...(target ? { target, inclusive: v.exclusive !== true } : {}),
    ...(timeline !== undefined ? { timeline } : {}),
    ...(v['no-clean'] === true ? { keepOnFailure: true } : {}),
    ...(v['standby-of']
      ? {
          standby: {
            primaryConninfo: v['standby-of'],
            ...(v['standby-slot'] ? { slot: v['standby-slot'] } : {}),
          },
        }
      : {}),
    ...(port !== undefined
      ? {
          start: {
            port,
            ...(v.host ? { host: v.host } : {}),
            ...(v['bin-dir'] ? { binDir: v['bin-dir'] } : {}),
            ...(v.user ? { user: v.user } : {}),
          },
        }
      : {}),
  };
  const what = v['standby-of'] ? 'a standby' : target ? `recovery to ${describeTarget(target)}` : 'recovery of all WAL';
  if (io.stderr.isTTY) io.stderr.write(`restoring ${backup} into ${targetDir} (${what})...\n`);
  const db = await restore(options);
  if (port === undefined) {
    io.stdout.write(
      v.json
        ? `${JSON.stringify({ dataDir: db.dataDir, started: false }, null, 2)}\n`
        : `prepared ${db.dataDir} for ${what}; start it with: pg_ctl -D ${db.dataDir} start (as the data directory's owner)\n`,
    );
    return 0;
  }
  const reached = {
    dataDir: db.dataDir,
    started: true,
    lsn: db.lsn !== null ? formatLsn(db.lsn) : null,
    lastCommitTime: db.time,
    connectionString: db.connectionString,
  };
  io.stdout.write(
    v.json
      ? `${JSON.stringify(reached)}\n`
      : `${v['standby-of'] ? 'standby running' : 'recovered'}: replayed up to ${reached.lsn ?? 'n/a'}, last commit ${reached.lastCommitTime ?? 'none'}\n` +
          `server: ${reached.connectionString} (data directory ${db.dataDir}); SIGINT or SIGTERM shuts it down\n`,
  );
  await new Promise<void>((resolve) => onSignals(io, () => resolve()));
  await db.stop();
  io.stdout.write(v.json ? '' : `server stopped; ${db.dataDir} stays (pg_ctl -D ${db.dataDir} start)\n`);
  return 0;
}

function recoveryTarget(v: PhysicalArgs): RestoreTarget | undefined {
  const given = (['to', 'lsn', 'xid', 'name'] as const).filter((k) => v[k] !== undefined);
  if (given.length > 1)
    throw new PhysicalUsageError(`give one recovery target, not ${given.map((k) => `--${k}`).join(' and ')}`);
  if (v.to !== undefined) {
    // A time without an offset would be read in the restored server's time zone: restore() refuses it (a
    // ConfigError, exit 2); what is not a time at all is refused here.
    if (Number.isNaN(new Date(v.to).getTime())) {
      throw new PhysicalUsageError(`--to ${v.to}: expected an ISO 8601 time with an offset, e.g. 2026-11-23T15:46:00Z`);
    }
    return { time: v.to.trim() };
  }
  if (v.lsn !== undefined) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(v.lsn))
      throw new PhysicalUsageError(`--lsn ${v.lsn}: expected X/Y`);
    return { lsn: v.lsn };
  }
  if (v.xid !== undefined) {
    if (!/^\d+$/.test(v.xid)) throw new PhysicalUsageError(`--xid ${v.xid}: expected a transaction id`);
    return { xid: v.xid };
  }
  if (v.name !== undefined) return { name: v.name };
  return undefined;
}

function describeTarget(t: RestoreTarget): string {
  if (t.time !== undefined) return `time ${String(t.time)}`;
  if (t.lsn !== undefined) return `LSN ${String(t.lsn)}`;
  if (t.xid !== undefined) return `transaction ${String(t.xid)}`;
  return `restore point ${String(t.name)}`;
}
