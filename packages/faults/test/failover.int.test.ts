/**
 * C19 failover. The pipeline reaches Postgres through a proxy (the virtual IP a failover moves); the primary is
 * SIGKILLed while writes and the stream are under way, a hot standby made from a base backup is promoted, and the
 * proxy then leads to it.
 * - PG18: the slot is a FAILOVER slot that the standby synchronises (`sync_replication_slots`); the primary holds
 *   logical changes back until the standby has them (`synchronized_standby_slots`) and commits synchronously. The
 *   same process reconnects to the promoted standby and resumes from the synchronised slot (behind the primary's
 *   position: replays, never loss): O1-O5, O4 against the new primary.
 * - PG15 (no failover slots): the standby has no slot. The running reader fails with a typed SlotInvalidatedError
 *   and a restart with `createSlot: false` with a typed ConfigError; neither creates a slot (no silent fresh start).
 */
import { createPostgresReader } from '@walstream/reader-postgres';
import { createWorkload, type PostgresCluster, startPostgres, startTcpProxy, type TcpProxy } from '@walstream/testkit';
import { expect, it } from 'vitest';
import { createScenario, type Scenario, sql } from './harness.js';

const until = async (what: string, check: () => Promise<boolean>, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** A writer that keeps committing until stopped or the server goes away (a crash is the scenario, not an error). */
function writeUntilStopped(s: Scenario): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        await s.workload.tx([1 + (i % 300), 301 + ((i * 7) % 300)]);
      } catch {
        return;
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Primary + standby of `version`, the scenario's database on the primary, the proxy leading to the primary. */
async function pair(version: 15 | 18, settings: Record<string, string>) {
  const primary = await startPostgres({ version, settings: { wal_sender_timeout: '10s' } });
  // The reader creates the scenario's slot; on 18 as a failover slot (its `failover` option).
  const s = await createScenario(primary.connectionString, { failoverSlot: version === 18 });
  const standby = await startPostgres({
    version,
    standbyOf: { primary, slot: 'standby1' },
    settings: { wal_sender_timeout: '10s', ...settings },
  });
  const proxy = await startTcpProxy({ host: primary.host, port: primary.port });
  const db = s.url.slice(s.url.lastIndexOf('/') + 1);
  const via = `postgres://postgres@127.0.0.1:${proxy.port}/${db}`;
  return { primary, standby, s, proxy, via, standbyUrl: standby.url(db) };
}

async function failover(primary: PostgresCluster, standby: PostgresCluster, proxy: TcpProxy): Promise<void> {
  await primary.crash();
  await sql(standby.connectionString, 'SELECT pg_promote(true, 60)');
  proxy.retarget(standby.host, standby.port);
  // The connections to the dead primary are gone; the reader's next attempt reaches the new primary.
  proxy.cut();
}

it('C19 failover (PG18): a FAILOVER slot synchronised to the standby; the pipeline resumes on it with O1-O5', async () => {
  const { primary, standby, s, proxy, via, standbyUrl } = await pair(18, { sync_replication_slots: 'on' });
  const sinks = [{ name: 'rec' }];
  try {
    const created = await sql(
      s.url,
      'SELECT failover, confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1',
      [s.slot],
    );
    expect(created.rows[0]?.failover).toBe(true);
    const start = (created.rows[0] as { l: string }).l;
    // Logical changes reach us only once the standby has them; commits wait for the standby too, so every
    // transaction the workload logged survives the failover.
    await sql(primary.connectionString, `ALTER SYSTEM SET synchronized_standby_slots = 'standby1'`);
    await sql(primary.connectionString, `ALTER SYSTEM SET synchronous_standby_names = '*'`);
    await sql(primary.connectionString, 'SELECT pg_reload_conf()');
    const child = s.start({ sinks, via });
    await child.waitFor('started');
    const stop = writeUntilStopped(s);
    // The standby holds a usable copy of the slot that has moved past its start: resuming from it is a real test.
    const synced = async () =>
      (
        await sql(
          standby.connectionString,
          `SELECT 1 FROM pg_replication_slots
            WHERE slot_name = $1 AND synced AND NOT temporary AND confirmed_flush_lsn > $2::pg_lsn`,
          [s.slot, start],
        )
      ).rowCount === 1;
    const first = s.workload.committed.length;
    await until(
      'the standby to synchronise the slot (a failover slot) past its start',
      async () => (await synced()) && s.workload.committed.length > first + 200,
      30_000,
    );
    await failover(primary, standby, proxy);
    await stop();
    s.moveTo(standbyUrl);
    // More writes on the new primary; the same process reconnects through the proxy and delivers them.
    const w2 = await createWorkload({ connectionString: standbyUrl, table: 'w' });
    for (let i = 0; i < 100; i++) await w2.tx([1 + i, 601 + i]);
    await w2.close();
    const versions = new Set([...s.workload.versions(), ...w2.versions()]);
    await until(
      'every version delivered after the failover',
      async () => {
        const got = new Set((await s.deliveries()).map((d) => `${d.after?.id}:${d.after?.seq}`));
        for (const v of versions) if (!got.has(v)) return false;
        return true;
      },
      60_000,
    );
    // The slot on the new primary moved on: the reader confirms there.
    expect((await s.end(child, 'SIGTERM')).code).toBe(0);
    await s.oracles(['rec'], versions);
  } finally {
    await s.close().catch(() => {});
    await proxy.close();
    await standby.stop();
    await primary.stop();
  }
}, 180_000);

it('C19 failover (PG15): the standby has no slot; a typed error, never a silent fresh start', async () => {
  const { primary, standby, s, proxy, via, standbyUrl } = await pair(15, {});
  const sinks = [{ name: 'rec' }];
  const slotOnStandby = async () =>
    (await sql(standbyUrl, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [s.slot])).rowCount;
  try {
    // Failover slots do not exist before 17: asking for one fails at startup, clearly.
    const early = createPostgresReader({
      connectionString: s.url,
      slot: 'early',
      publication: s.publication,
      failover: true,
    });
    await expect(early.open()).rejects.toMatchObject({ code: 'CONFIG', message: /failover slots need PostgreSQL 17/ });
    await early.close();
    const child = s.start({ sinks, via });
    await child.waitFor('started');
    const stop = writeUntilStopped(s);
    await child.waitFor(/ack /);
    await failover(primary, standby, proxy);
    await stop();
    // The running reader reconnects to the promoted standby, finds no slot and stops with a typed error.
    await child.waitFor(/failed /);
    expect(child.stdout()).toContain('failed SLOT_INVALIDATED');
    expect((await child.exited).code).toBe(1);
    // A restart that must not create a slot (createSlot: false) names the missing slot.
    const again = s.start({ sinks, via, createSlot: false });
    await again.waitFor(/failed |started/);
    expect(again.stdout()).toContain('failed CONFIG');
    expect((await again.exited).code).toBe(1);
    expect(await slotOnStandby()).toBe(0);
  } finally {
    await s.close().catch(() => {});
    await proxy.close();
    await standby.stop();
    await primary.stop();
  }
}, 180_000);
