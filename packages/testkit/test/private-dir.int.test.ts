/**
 * Root in a private folder: the postgres OS user cannot traverse a 0700 folder, so binaries inside one (a clone
 * in /root or in `mktemp -d`) used to fail initdb with EACCES and leave vitest hanging. The kit now copies them to
 * a reachable place, or fails at once with a message.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedBinDir, startPostgres } from '../src/postgres.js';

const root = process.getuid?.() === 0;

describe('Postgres from binaries inside a private (0700) folder', () => {
  let priv: string;
  let binDir: string;
  const copies: string[] = [];
  beforeAll(async () => {
    priv = await mkdtemp(join(tmpdir(), 'walstream-private-'));
    await chmod(priv, 0o700);
    const tree = dirname(await embeddedBinDir());
    execFileSync('cp', ['-a', tree, join(priv, 'native')]);
    binDir = join(priv, 'native', 'bin');
  }, 120_000);
  afterAll(async () => {
    // The copy is keyed by the source folder, which is unique to this test: nothing else will reuse it.
    for (const c of [priv, ...copies]) await rm(c, { recursive: true, force: true });
  });

  it('starts, serves queries and stops; as root the binaries run from a copy the postgres user can reach', async () => {
    const cluster = await startPostgres({ version: 18, binDir });
    if (cluster.binDir !== binDir) copies.push(dirname(cluster.binDir));
    try {
      const c = new pg.Client({ connectionString: cluster.connectionString });
      await c.connect();
      const r = await c.query('SHOW wal_level');
      await c.end();
      expect(r.rows[0]?.wal_level).toBe('logical');
      if (root) expect(cluster.binDir.startsWith(priv)).toBe(false);
      else expect(cluster.binDir).toBe(binDir);
    } finally {
      await cluster.stop();
    }
  });

  it('fails at once, with a message, when the binaries cannot be found', async () => {
    const started = Date.now();
    await expect(startPostgres({ version: 18, binDir: join(priv, 'nowhere', 'bin') })).rejects.toThrow(
      root ? /no postgres binary in .*nowhere.*move the clone/s : /cannot start postgres|ENOENT|initdb/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('a cluster the program forgets to stop', () => {
  it('does not keep the process alive; the process exits and leaves no server and no folder', async () => {
    const { execFile } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const kit = new URL('../dist/index.js', import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(kit)}); const c = await m.startPostgres({ version: 18 }); console.log(c.dataDir);`;
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 90_000 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
      void child;
    });
    const dataDir = out.stdout.trim();
    const leftovers = () => {
      try {
        return execFileSync('pgrep', ['-f', dataDir]).toString().trim().split('\n').map(Number);
      } catch {
        return []; // pgrep exits 1 when nothing matches
      }
    };
    if (out.code !== 0 && dataDir) {
      // It hung and was killed: end the server it started (by pid) and remove the folder before failing.
      for (const pid of leftovers()) process.kill(pid, 'SIGKILL');
      await rm(dirname(dataDir), { recursive: true, force: true });
    }
    expect(out.code).toBe(0); // it exited on its own (the timeout would have killed it: code null / signal)
    expect(dataDir).toMatch(/walstream-pg18-/);
    expect(existsSync(dirname(dataDir))).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
