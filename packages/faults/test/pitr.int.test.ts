/**
 * C20 setup order, PITR restore (Materialize's backup_restore_pg): a pipeline streams from a private cluster through
 * a proxy while walstream's own physical tools archive its WAL (`walstream archive`) and take a base backup
 * (`walstream backup`); rows are written, time T is noted, more rows follow; `walstream restore --to T` brings
 * up a new cluster as of T. A base backup holds no replication slot (pg_replslot is left out), so the restored
 * cluster has the data but not the pipeline's slot. Pass (FAULTS.md 20: a clear startup error, no silent loss):
 * a start with `createSlot: false` fails with a ConfigError naming the slot; the reader that was streaming, now led
 * to the restored cluster by the proxy, fails with SLOT_INVALIDATED and confirms nothing; neither creates a slot.
 * With a SQL apply target (sink-postgres, holding a checkpoint from the old timeline) a start with the default
 * `createSlot: true` fails too, with an ApplyError of reason CHECKPOINT, and creates no slot: before that guard it
 * created a fresh slot on the restored cluster and went on, the target silently missing what was never captured.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '@walstream/cli';
import { createPipeline, ErrorCode } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { ApplyErrorReason, createPostgresSink } from '@walstream/sink-postgres';
import { freePort, postgresScratch, runMain, startPostgres, startTcpProxy, until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createScenario, sql } from './harness.js';
import { postgresTarget } from './targets.js';

const runCli = (args: string[]) => runMain(main, args);
const scratch = () => postgresScratch('walstream-faults-pitr-');

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe.each([18, 15] as const)('PostgreSQL %i', (version) => {
  it(`C20 PITR restore (PG${version}): the restored cluster has no slot; a typed error, never a silent fresh start`, async () => {
    const pg = await startPostgres({ version, settings: { full_page_writes: 'on', wal_sender_timeout: '10s' } });
    // In the configuration file (the testkit passes its settings on the command line): a restored copy keeps it,
    // as a production server's postgresql.conf is part of its backup.
    await sql(pg.connectionString, "ALTER SYSTEM SET wal_level = 'logical'");
    const root = await scratch();
    const archive = join(root, 'wal');
    const base = join(root, 'base');
    const archiver = runCli(['archive', '--connection', pg.connectionString, '--dir', archive, '--slot', 'pitr']);
    const s = await createScenario(pg.connectionString);
    const proxy = await startTcpProxy({ host: pg.host, port: pg.port });
    const db = s.url.slice(s.url.lastIndexOf('/') + 1);
    const via = `postgres://postgres@127.0.0.1:${proxy.port}/${db}`;
    let restored: ReturnType<typeof runCli> | null = null;
    // The apply target lives on the original cluster, which stays up: it keeps the old timeline's checkpoint.
    const target = await postgresTarget(pg.connectionString, 'pgt');
    const sinks = [{ name: 'rec' }, target.spec];
    try {
      await until(() => /archiving WAL from slot pitr/.test(archiver.err()), 'the archiver to start');
      const child = s.start({ sinks, via });
      await child.waitFor('started');
      await s.workload.tx(range(1, 50));
      await child.waitFor(/ack /);

      const backup = runCli(['backup', '--connection', pg.connectionString, '--dir', base]);
      expect(await backup.exited).toBe(0);
      await s.workload.tx(range(51, 50));
      const t = (
        await sql(s.url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`)
      ).rows[0].t as string;
      await new Promise((r) => setTimeout(r, 50));
      await s.workload.tx(range(101, 50));
      const end = (await sql(pg.connectionString, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
      await until(async () => {
        const r = await sql(
          pg.connectionString,
          `SELECT restart_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'pitr'`,
          [end],
        );
        return r.rows[0]?.ok === true;
      }, 'the archive to hold the last rows');
      archiver.signal('SIGTERM');
      expect(await archiver.exited).toBe(0);

      const port = await freePort();
      const targetDir = join(root, 'restored');
      restored = runCli([
        'restore',
        '--backup',
        base,
        '--archive',
        archive,
        '--target-dir',
        targetDir,
        '--to',
        t,
        '--port',
        String(port),
        '--bin-dir',
        pg.binDir,
      ]);
      const r = restored;
      let server = '';
      await until(
        async () => {
          const done = await Promise.race([r.exited, new Promise<null>((res) => setTimeout(() => res(null), 10))]);
          if (done !== null) throw new Error(`restore exited ${done}: ${r.err()}`);
          server = /^server: (postgres:\/\/\S+)/m.exec(r.out())?.[1] ?? '';
          return server !== '';
        },
        'the restored server',
        300_000,
      );
      const restoredUrl = server.replace(/\/[^/?]*(\?|$)/, `/${db}$1`);
      // The restored cluster is the source as of T (rows 1-100, not 101-150), with the publication and no slot.
      const rows = await sql(restoredUrl, 'SELECT count(*)::int AS n, max(id)::int AS top FROM w');
      expect(rows.rows[0]).toEqual({ n: 100, top: 100 });
      const slots = async () =>
        (await sql(restoredUrl, `SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'`)).rowCount;
      expect(await slots()).toBe(0);

      // A start that must not create the slot names it.
      const strict = createPostgresReader({
        connectionString: restoredUrl,
        slot: s.slot,
        publication: s.publication,
        createSlot: false,
      });
      await expect(strict.open()).rejects.toMatchObject({
        code: ErrorCode.Config,
        message: expect.stringContaining(`"${s.slot}"`),
      });
      await strict.close();

      // The reader that was streaming reaches the restored cluster (the proxy moves, its connections drop).
      proxy.retarget('127.0.0.1', port);
      proxy.cut();
      const cutAt = child.stdout().length;
      await child.waitFor(/failed /);
      expect(child.stdout()).toContain(`failed ${ErrorCode.SlotInvalidated}`);
      expect((await child.exited).code).toBe(1);
      // Nothing confirmed after the move (there is no slot to confirm to, and it never said otherwise).
      expect(child.stdout().slice(cutAt)).not.toMatch(/^ack /m);

      // A restart with createSlot: false through the proxy fails the same way as above, as a process.
      const again = s.start({ sinks, via, createSlot: false });
      await again.waitFor(/failed |started/);
      expect(again.stdout()).toContain(`failed ${ErrorCode.Config}`);
      expect((await again.exited).code).toBe(1);
      expect(await slots()).toBe(0);

      // The default createSlot: true with the SQL apply target: its checkpoint is from the old timeline, the slot
      // would be created fresh at the restored cluster's WAL. The sink refuses before the slot exists.
      const held = await target.checkpoint();
      expect(held).not.toBeNull();
      const fresh = createPipeline({
        name: 'faults',
        reader: createPostgresReader({ connectionString: via, slot: s.slot, publication: s.publication }),
        sinks: [createPostgresSink({ name: 'pgt', connectionString: (target.spec as { url: string }).url })],
      });
      const refused = await fresh.start().then(
        () => null,
        (e: unknown) => e,
      );
      if (refused === null) await fresh.stop();
      expect(refused).toMatchObject({ code: ErrorCode.Sink, reason: ApplyErrorReason.Checkpoint });
      expect(String((refused as Error).message)).toContain(`holds position ${held}`);
      expect(await slots()).toBe(0);
      // As a process too (a supervisor's restart): the same refusal, nothing applied, still no slot.
      const guarded = s.start({ sinks: [target.spec], via });
      await guarded.waitFor(/failed |started/);
      expect(guarded.stdout()).toContain(`failed ${ErrorCode.Sink}`);
      expect((await guarded.exited).code).toBe(1);
      expect(await slots()).toBe(0);
      expect(await target.checkpoint()).toBe(held);
    } finally {
      if (restored) {
        restored.signal('SIGINT');
        await restored.exited;
      }
      archiver.signal('SIGTERM');
      await s.close().catch(() => {});
      await target.close();
      await proxy.close();
      await pg.stop();
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);
});
