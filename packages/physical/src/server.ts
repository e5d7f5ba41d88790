/**
 * Starting a restored data directory: the `postgres` binary of the backup's major version, as the `postgres`
 * OS user when we are root (Postgres refuses to run as root), on 127.0.0.1 and the given port.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@walstream/core';
import pg from 'pg';
import { RestoreError } from './errors.js';

export interface OsUser {
  uid: number;
  gid: number;
}

/** The OS user to run Postgres as: the named one, else `postgres` when we are root, else ourselves (null). */
export function serverUser(name: string | undefined): OsUser | null {
  const wanted = name ?? (process.getuid?.() === 0 ? 'postgres' : undefined);
  if (wanted === undefined) return null;
  try {
    return {
      uid: Number(execFileSync('id', ['-u', wanted]).toString().trim()),
      gid: Number(execFileSync('id', ['-g', wanted]).toString().trim()),
    };
  } catch (err) {
    throw new ConfigError('start.user', `there is no OS user ${JSON.stringify(wanted)} to run Postgres as`, {
      cause: err,
    });
  }
}

/** The server binaries matching the data directory's PG_VERSION. */
export function findBinDir(dataDir: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!existsSync(join(given, 'postgres'))) throw new ConfigError('start.binDir', `no postgres binary in ${given}`);
    return given;
  }
  const version = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
  const debian = `/usr/lib/postgresql/${version}/bin`;
  if (existsSync(join(debian, 'postgres'))) return debian;
  try {
    const dir = execFileSync('pg_config', ['--bindir']).toString().trim();
    const v = execFileSync(join(dir, 'postgres'), ['--version']).toString();
    if (new RegExp(`\\s${version}[.\\s]`).test(v) && existsSync(join(dir, 'postgres'))) return dir;
  } catch {
    // no pg_config on PATH: fall through to the error
  }
  throw new ConfigError('start.binDir', `no PostgreSQL ${version} server binaries found; pass start.binDir`);
}

export interface RunningServer {
  readonly process: ChildProcess;
  log(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function spawnServer(
  binDir: string,
  dataDir: string,
  settings: Record<string, string | number>,
  user: OsUser | null,
): RunningServer {
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawn(join(binDir, 'postgres'), args, { ...(user ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    process: child,
    log: () => log,
    exited,
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Polls until `ready(client)` returns true. Fails with the server log's last FATAL/PANIC lines when the
 * process exits first or the timeout passes.
 */
export async function waitFor(
  server: RunningServer,
  connectionString: string,
  ready: (c: pg.Client) => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new RestoreError(`the restored server exited before ${what}: ${lastErrors(server.log())}`);
    const c = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
    c.on('error', () => {});
    try {
      await c.connect();
      if (await ready(c)) return;
    } catch {
      // starting up or still recovering: try again
    } finally {
      await c.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new RestoreError(`timed out waiting for ${what}: ${lastErrors(server.log())}`);
}

function lastErrors(log: string): string {
  // Our own polling makes "starting up" FATALs: they say nothing about why the server stopped.
  const lines = log
    .split('\n')
    .filter((l) => /FATAL|PANIC|ERROR/.test(l) && !/starting up|not yet accepting connections/.test(l));
  return (lines.slice(-3).join(' | ') || log.slice(-500)).slice(0, 1500);
}
