/**
 * `walstream archive`, `backup` and `restore --to <time>` end to end, through the CLI's main() on a private
 * PostgreSQL 18 cluster: archive WAL until SIGTERM, take a verified base backup, fill a table, record T, change
 * and drop it; a restore to T started on a new port shows every row as of T and none of the later changes.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type PostgresCluster, postgresScratch, runMain, startPostgres } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { sql, waitFor } from './helpers.js';

const runCli = (args: string[]) => runMain(main, args);
const scratch = () => postgresScratch('walstream-cli-physical-');

describe('walstream backup, archive and restore --to <time>', () => {
  let pg: PostgresCluster;
  let root: string;
  let url: string;

  beforeAll(async () => {
    pg = await startPostgres({ version: 18, settings: { full_page_writes: 'on' } });
    url = pg.connectionString;
    root = await scratch();
  });

  afterAll(async () => {
    await pg?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('restores through the CLI to the rows as of T', async () => {
    const archive = join(root, 'wal');
    const base = join(root, 'base');
    const archiver = runCli(['archive', '--connection', url, '--dir', archive, '--slot', 'cli_archive']);
    await waitFor('the archiver to start', async () => /archiving WAL from slot cli_archive/.test(archiver.err()));

    await sql(url, 'CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
    await sql(url, `INSERT INTO items SELECT g, 'before backup' FROM generate_series(1, 200) g`);
    const backup = runCli(['backup', '--connection', url, '--dir', base]);
    expect(await backup.exited).toBe(0);
    expect(backup.out()).toMatch(/^base backup in .*: .*timeline 1, WAL \w+\/\w+\.\.\w+\/\w+$/m);
    expect(backup.out()).toMatch(/^manifest: version \d, \d+ files, .*checksums CRC32C/m);
    expect(backup.out()).toMatch(/^verified: the manifest's SHA-256 and every file's size and CRC32C match$/m);

    await sql(url, `INSERT INTO items SELECT g, 'before T' FROM generate_series(201, 1000) g`);
    await sql(url, `UPDATE items SET note = 'updated before T' WHERE id <= 10`);
    const t = (
      await sql(url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`)
    ).rows[0].t as string;
    await new Promise((r) => setTimeout(r, 50));
    await sql(url, `UPDATE items SET note = 'updated after T' WHERE id <= 100`);
    await sql(url, `INSERT INTO items SELECT g, 'after T' FROM generate_series(1001, 1100) g`);
    await sql(url, 'DROP TABLE items');
    const end = (await sql(url, 'SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
    await waitFor('the archive to hold the drop', async () => {
      const r = await sql(
        url,
        `SELECT restart_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'cli_archive'`,
        [end],
      );
      return r.rows[0]?.ok === true;
    });
    archiver.signal('SIGTERM');
    expect(await archiver.exited).toBe(0);
    expect(archiver.out()).toMatch(
      /^stopped on SIGTERM; the archive holds WAL up to \w+\/\w+ \(confirmed to slot cli_archive\)$/m,
    );
    expect((await readdir(archive)).some((f) => /^[0-9A-F]{24}(\.partial)?$/.test(f))).toBe(true);

    const port = await freePort();
    const target = join(root, 'restored');
    const restored = runCli([
      'restore',
      '--backup',
      base,
      '--archive',
      archive,
      '--target-dir',
      target,
      '--to',
      t,
      '--port',
      String(port),
      '--bin-dir',
      pg.binDir,
    ]);
    const conn = await waitFor(
      'the restored server',
      async () => /^server: (postgres:\/\/\S+)/m.exec(restored.out())?.[1] ?? (await earlyExit(restored)),
      600_000,
    );
    expect(restored.out()).toMatch(/^recovered: replayed up to \w+\/\w+, last commit /m);
    const rows = await sql(
      conn,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE note = 'updated before T')::int AS upd,
              count(*) FILTER (WHERE note LIKE '%after T%')::int AS late FROM items`,
    );
    expect(rows.rows[0]).toEqual({ n: 1000, upd: 10, late: 0 });
    restored.signal('SIGINT');
    expect(await restored.exited).toBe(0);
    expect(restored.out()).toMatch(/server stopped/);
  }, 900_000);

  it('rejects a bad command line with exit 2 and a reason', async () => {
    // A date alone ends in -DD, which is not an offset: the restored server would read it in its own time zone.
    for (const to of ['2026-01-01 10:00', '2026-11-29']) {
      const two = runCli(['restore', '--backup', '/nowhere', '--target-dir', '/tmp/x', '--to', to]);
      expect(await two.exited).toBe(2);
      expect(two.err()).toMatch(/target\.time.*a time of day and an offset/);
    }
    const notTime = runCli(['restore', '--backup', '/nowhere', '--target-dir', '/tmp/x', '--to', 'yesterday']);
    expect(await notTime.exited).toBe(2);
    expect(notTime.err()).toMatch(/--to yesterday: expected an ISO 8601 time with an offset/);
    const both = runCli(['restore', '--backup', 'b', '--target-dir', 't', '--lsn', '0/1', '--xid', '7']);
    expect(await both.exited).toBe(2);
    expect(both.err()).toMatch(/give one recovery target, not --lsn and --xid/);
    const missing = runCli(['backup', '--connection', url]);
    expect(await missing.exited).toBe(2);
    expect(missing.err()).toMatch(/backup needs --dir/);
    const help = runCli(['archive', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.out()).toMatch(/walstream archive {2}--connection URL --dir DIR/);
  });

  it('exits 3 when the archiver cannot start', async () => {
    const bad = runCli([
      'archive',
      '--connection',
      url,
      '--dir',
      join(root, 'never'),
      '--slot',
      'missing',
      '--no-create-slot',
    ]);
    expect(await bad.exited).toBe(3);
    expect(bad.err()).toMatch(/the archiver could not start: .*replication slot "missing" does not exist/);
  });

  it('exits 3 and creates no slot when the archive directory cannot be written', async () => {
    const dir = join(root, 'read-only');
    await mkdir(dir);
    // Root writes through permissions: a read-only mount is what it cannot write to.
    const root0 = process.getuid?.() === 0;
    if (root0) execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
    else await chmod(dir, 0o555);
    try {
      const r = runCli(['archive', '--connection', url, '--dir', dir, '--slot', 'ro_slot']);
      expect(await r.exited).toBe(3);
      expect(r.err()).toMatch(/the archiver could not start: .*cannot write/);
      const slots = await sql(url, `SELECT 1 FROM pg_replication_slots WHERE slot_name = 'ro_slot'`);
      expect(slots.rows).toEqual([]);
    } finally {
      if (root0) execFileSync('umount', [dir]);
      else await chmod(dir, 0o755);
    }
  });

  it('exits 3 when another archiver holds the slot', async () => {
    const first = runCli(['archive', '--connection', url, '--dir', join(root, 'held'), '--slot', 'held_slot']);
    try {
      await waitFor('the first archiver to start', async () => /archiving WAL from slot held_slot/.test(first.err()));
      await waitFor('the slot to be active', async () => {
        const r = await sql(url, `SELECT active FROM pg_replication_slots WHERE slot_name = 'held_slot'`);
        return r.rows[0]?.active === true;
      });
      const second = runCli(['archive', '--connection', url, '--dir', join(root, 'held2'), '--slot', 'held_slot']);
      expect(await second.exited).toBe(3);
      expect(second.err()).toMatch(/the archiver could not start: .*is active/);
    } finally {
      first.signal('SIGINT');
      expect(await first.exited).toBe(0);
    }
  });
});

/** While the restore runs, nothing; when main() already returned, its stderr as an error. */
async function earlyExit(r: ReturnType<typeof runCli>): Promise<undefined> {
  const done = await Promise.race([r.exited, new Promise<null>((res) => setTimeout(() => res(null), 10))]);
  if (done !== null) throw new Error(`restore exited ${done}: ${r.err()}`);
  return undefined;
}
