/** Shared pieces of the physical package's integration tests. */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatLsn, type Lsn, parseLsn } from '@walstream/core';
import { freePort, type PostgresCluster, type PostgresVersion, sql as query, startPostgres } from '@walstream/testkit';

export const execFileAsync = promisify(execFile);
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export const versions: PostgresVersion[] = [15, 18];

/** A cluster for physical tests: full_page_writes on (restores replay torn-page-safe WAL). */
export function startCluster(version: PostgresVersion): Promise<PostgresCluster> {
  return startPostgres({ version, settings: { full_page_writes: 'on', wal_keep_size: '256MB' } });
}

/** A scratch folder the `postgres` OS user can enter (restored servers run as postgres and read the archive). */
export async function scratch(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `walstream-physical-${prefix}-`));
  await chmod(dir, 0o755);
  if (process.getuid?.() === 0) {
    const { stdout } = await execFileAsync('id', ['-u', 'postgres']);
    const { stdout: g } = await execFileAsync('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(g.trim()));
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await query(url, text, params)).rows as T[];
}

export async function currentLsn(url: string): Promise<Lsn> {
  const [r] = await sql<{ l: string }>(url, 'SELECT pg_current_wal_lsn()::text AS l');
  return parseLsn((r as { l: string }).l);
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export { formatLsn, freePort, parseLsn };

/** Complete segment files of an archive directory, sorted. */
export async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
}
