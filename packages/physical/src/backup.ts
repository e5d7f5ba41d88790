/**
 * takeBaseBackup: BASE_BACKUP over the replication protocol (the PG15+ COPY format with 'n'/'d'/'p'/'m'
 * messages), extracted into a plain data directory with its backup_manifest, then fsynced. The result is what
 * `pg_basebackup -Fp -X fetch` produces, and `pg_verifybackup` checks it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type Lsn, parseLsn } from '@walstream/core';
import { SlabPool } from './backend.js';
import { BaseBackupError } from './errors.js';
import { TarExtractor } from './tar.js';
import { type ResultSet, WireSession } from './wire.js';

export interface BaseBackupProgress {
  /** Bytes the server reported as sent so far. */
  readonly doneBytes: number;
  /** The server's estimate of the total (raised to doneBytes once passed; equal to it at the end), null when it gave none. */
  readonly totalBytes: number | null;
}

export interface BaseBackupOptions {
  /** libpq-style URL; the user needs the REPLICATION attribute (or superuser). */
  connectionString: string;
  /** Target directory: created, or must be empty. */
  dir: string;
  /** Backup label (pg_stat_progress_basebackup, backup_label). @default 'walstream base backup' */
  label?: string;
  /** 'fast' checkpoints at once; 'spread' waits for a normal checkpoint. @default 'fast' */
  checkpoint?: 'fast' | 'spread';
  /** Include the WAL needed to make the backup consistent (pg_wal/), so it restores on its own. @default true */
  includeWal?: boolean;
  /** Checksum algorithm of the manifest. @default 'CRC32C' */
  manifestChecksums?: 'NONE' | 'CRC32C' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';
  /** Server-side rate limit in kB/s (32-1048576). @default unlimited */
  maxRateKb?: number;
  /** fsync every file and directory at the end. @default true */
  sync?: boolean;
  /** Called as the server reports progress (about once a second) and once at the end. */
  onProgress?: (p: BaseBackupProgress) => void;
  /** @default 'walstream-basebackup' */
  applicationName?: string;
}

export interface BaseBackupResult {
  /** LSN of the backup's start checkpoint redo point: restore needs WAL from here. */
  readonly startLsn: Lsn;
  /** LSN at which the backup is consistent: a restore must replay at least to here. */
  readonly endLsn: Lsn;
  readonly timeline: number;
  /** Bytes of files written. */
  readonly bytes: number;
  readonly dir: string;
}

const CHECKSUMS = new Set(['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512']);

export async function takeBaseBackup(options: BaseBackupOptions): Promise<BaseBackupResult> {
  const o = validate(options);
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  if (readdirSync(o.dir).length > 0) throw new ConfigError('dir', `${o.dir} is not empty`);
  try {
    return await runBackup(o);
  } catch (err) {
    // A half-written backup must not be mistaken for one: empty the directory again (it was empty before).
    for (const f of readdirSync(o.dir)) await rm(join(o.dir, f), { recursive: true, force: true });
    throw err;
  }
}

async function runBackup(o: BaseBackupOptions): Promise<BaseBackupResult> {
  // Every piece is written (or copied) before the next arrives: two slabs, recycled as they fill, carry the stream.
  const session = await WireSession.connect(
    o.connectionString,
    o.applicationName ?? 'walstream-basebackup',
    new SlabPool(2),
    true,
  );
  const tar = new TarExtractor(o.dir);
  let manifest: Buffer[] | null = null;
  let inManifest = false;
  let total: number | null = null;
  let done = 0;
  let failure: Error | null = null;
  const fail = (err: unknown) => {
    if (failure) return;
    failure = err instanceof Error ? err : new Error(String(err));
    void session.close();
  };
  const opts = [
    `LABEL ${quote(o.label ?? 'walstream base backup')}`,
    'PROGRESS true',
    `CHECKPOINT '${o.checkpoint ?? 'fast'}'`,
    `WAL ${o.includeWal === false ? 'false' : 'true'}`,
    'WAIT false',
    `MANIFEST 'yes'`,
    `MANIFEST_CHECKSUMS '${o.manifestChecksums ?? 'CRC32C'}'`,
  ];
  if (o.maxRateKb !== undefined) opts.push(`MAX_RATE ${o.maxRateKb}`);

  let sets: ResultSet[];
  try {
    sets = await session.copy(`BASE_BACKUP (${opts.join(', ')})`, {
      row: (columns, row) => {
        const i = columns.indexOf('size');
        if (columns.includes('spcoid') && i >= 0 && row[i] != null) total = (total ?? 0) + Number(row[i]) * 1024;
      },
      data: (c) => {
        if (failure) return;
        try {
          switch (c[0]) {
            case 0x6e /* n: new archive */:
              {
                const name = c.toString('utf8', 1, c.indexOf(0, 1));
                if (name !== 'base.tar') {
                  throw new BaseBackupError(
                    `the server has tablespaces outside the data directory (${name}); they are not supported`,
                  );
                }
                return;
              }
            case 0x64 /* d: archive or manifest data */:
              if (inManifest) (manifest as Buffer[]).push(Buffer.from(c.subarray(1)));
              else tar.push(c.subarray(1));
              return;
            case 0x70 /* p: progress */:
              done = Number(c.readBigInt64BE(1));
              // The server's total is the data directory's size: the WAL it sends at the end comes on top. As
              // pg_basebackup does, the total grows with what is done instead of going past 100%.
              if (total !== null && done > total) total = done;
              o.onProgress?.({ doneBytes: done, totalBytes: total });
              return;
            case 0x6d /* m: manifest follows */:
              tar.finish();
              inManifest = true;
              manifest = [];
              return;
          }
        } catch (err) {
          fail(err);
        }
      },
    });
  } catch (err) {
    tar.abort();
    await session.close();
    const cause = failure ?? err;
    if (cause instanceof BaseBackupError) throw cause;
    throw new BaseBackupError(`BASE_BACKUP failed: ${(cause as Error).message}`, cause);
  }
  await session.close();
  if (failure) throw failure;
  if (!inManifest) tar.finish();
  if (manifest) await writeFile(join(o.dir, 'backup_manifest'), Buffer.concat(manifest), { mode: 0o600 });

  const positions = sets.filter((s) => s.columns.includes('recptr'));
  const start = positions[0]?.rows[0];
  const end = positions[positions.length - 1]?.rows[0];
  if (!start || !end || positions.length < 2) throw new BaseBackupError('the server did not report the backup range');
  if (o.sync !== false) await syncTree(o.dir, tar.files, tar.dirs, manifest !== null);
  // Done is 100%, whatever the estimate was (files may also have shrunk or gone while the backup ran).
  const finalBytes = Math.max(done, tar.bytes);
  o.onProgress?.({ doneBytes: finalBytes, totalBytes: total === null ? null : finalBytes });
  return {
    startLsn: parseLsn(start[0] as string),
    endLsn: parseLsn(end[0] as string),
    timeline: Number(end[1]),
    bytes: tar.bytes,
    dir: o.dir,
  };
}

function validate(o: BaseBackupOptions): BaseBackupOptions {
  if (typeof o?.connectionString !== 'string' || o.connectionString === '') {
    throw new ConfigError('connectionString', 'a Postgres connection URL is required');
  }
  if (typeof o.dir !== 'string' || o.dir === '') throw new ConfigError('dir', 'a directory path is required');
  if (o.checkpoint !== undefined && o.checkpoint !== 'fast' && o.checkpoint !== 'spread') {
    throw new ConfigError('checkpoint', `expected 'fast' or 'spread'`);
  }
  if (o.manifestChecksums !== undefined && !CHECKSUMS.has(o.manifestChecksums)) {
    throw new ConfigError('manifestChecksums', `expected one of ${[...CHECKSUMS].join(', ')}`);
  }
  if (o.maxRateKb !== undefined && (!Number.isInteger(o.maxRateKb) || o.maxRateKb < 32 || o.maxRateKb > 1048576)) {
    throw new ConfigError('maxRateKb', 'expected an integer from 32 to 1048576');
  }
  return o;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** fsync files (a few at a time, on the thread pool), then directories bottom-up, then the root. */
async function syncTree(root: string, files: string[], dirs: string[], manifest: boolean): Promise<void> {
  const paths = files.map((f) => join(root, f));
  if (manifest) paths.push(join(root, 'backup_manifest'));
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const p = paths[next++] as string;
      const fh = await open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const dirPaths = [...dirs.map((d) => join(root, d)).reverse(), root];
  for (const d of dirPaths) {
    if (!existsSync(d)) continue;
    const fh = await open(d, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
