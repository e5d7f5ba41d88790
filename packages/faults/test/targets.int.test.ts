/**
 * Scenarios 1, 2, 11 and 14 with real destinations in the same run as the recording sinks (test/targets.ts):
 * a JetStream stream, Postgres and MySQL tables applied by the SQL sinks, a RabbitMQ queue. The recording sinks give
 * O1-O5 as in the other scenarios; each target is checked on what it holds (the stream and queue through the same
 * oracles, the SQL tables row for row with their checkpoint row and a trigger that fails any change applied twice)
 * and against the slot's position at every run end (O5).
 */
import { execFileSync } from 'node:child_process';
import { formatLsn } from '@walstream/core';
import {
  assertConfirmedNeverAhead,
  assertDuplicatesOnlyAfterAck,
  assertEveryChangeDelivered,
  assertPerKeyOrder,
  assertTargetEqualsSource,
  createWorkload,
  type Delivery,
  ensureServices,
  type RunEnd,
  slotConfirmedLsn,
  sql,
  startPostgres,
  until,
  type Workload,
} from '@walstream/testkit';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createScenario, type RunningChild, type Scenario, type SinkSpec } from './harness.js';
import {
  atOrBefore,
  mysqlTarget,
  natsTarget,
  positionOf,
  postgresTarget,
  rabbitTarget,
  type Target,
} from './targets.js';

const admin = () => inject('faultsPostgres').url;

beforeAll(() => ensureServices(['nats', 'mariadb', 'rabbitmq']));

/** O1-O5 over the recording sinks `rec`, then every target's own checks; the summary line for the log. */
async function checkAll(s: Scenario, rec: string[], targets: Target[], versions = s.workload.versions()) {
  const parts = [await s.oracles(rec, versions)];
  const source = { url: s.url, versions, deliveries: await s.deliveries() };
  for (const t of targets) parts.push(await t.check(source));
  return parts.join('; ');
}

/** Every target holds every committed version: the catch-up's `until`. */
const allHold =
  (s: Scenario, targets: Target[], versions = s.workload.versions()) =>
  async () => {
    for (const t of targets) if (!(await t.holdsAll({ url: s.url, versions }))) return false;
    return true;
  };

async function closeAll(s: Scenario, targets: Target[]) {
  for (const t of targets) await t.close().catch(() => {});
  await s.close().catch(() => {});
}

describe('A. crash and restart with targets', () => {
  it('A1 kill before ack with NATS, a Postgres and a MySQL target: SIGKILL after a sink write, before the LSN ack; the stream drops the replays by Msg-Id, the tables apply each change once', async () => {
    const s = await createScenario(admin());
    const targets = [await natsTarget('nats'), await postgresTarget(admin(), 'pg'), await mysqlTarget('mysql')];
    for (const t of targets) s.onRunEnd(t.observe);
    const sinks: SinkSpec[] = [{ name: 'rec' }, ...targets.map((t) => t.spec)];
    try {
      const start = await slotConfirmedLsn(s.url, s.slot);
      s.workload.start({ keys: 300, rowsPerTx: 2, pauseMs: 2 });
      // Four sinks: each batch is four writes. The recording and NATS sinks race through the backlog a run starts
      // with while the SQL sinks open, so the kills come late enough for some batches to be acked before them.
      for (const n of [400, 1000, 700]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false, failed: null });
      }
      // The slot moved before a kill: O2 and O5 are held to a confirmed position, not only the slot's start.
      expect(s.ends.some((e) => e.confirmed > start)).toBe(true);
      await s.workload.stop();
      expect(await s.catchUp(sinks, { until: allHold(s, targets) })).toMatchObject({ code: 0, failed: null });
      console.log(await checkAll(s, ['rec'], targets));
      // The kills came after writes that were never acked: those batches came again (to every sink).
      const all = await s.deliveries();
      expect(all.length).toBeGreaterThan(new Set(all.map((d) => d.id)).size);
    } finally {
      await closeAll(s, targets);
    }
  }, 180_000);

  it('A2 kill mid-batch with a slow MySQL target: the recording sink has accepted batches the target has not; the restart re-delivers to both', async () => {
    const s = await createScenario(admin());
    const target = await mysqlTarget('mysql');
    s.onRunEnd(target.observe);
    const sinks: SinkSpec[] = [{ name: 'fast' }, { ...target.spec, delayMs: 40 }];
    try {
      const start = await slotConfirmedLsn(s.url, s.slot);
      s.workload.start({ keys: 300, rowsPerTx: 2, pauseMs: 2 });
      let split = 0;
      for (const n of [150, 400, 250]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false, failed: null });
        if (aheadOf(await target.checkpoint(), await s.deliveries(), child)) split++;
      }
      // The kills landed while the two disagreed (the recording sink ahead), which is the point of this scenario.
      expect(split).toBeGreaterThan(0);
      expect(s.ends.some((e) => e.confirmed > start)).toBe(true);
      await s.workload.stop();
      expect(await s.catchUp(sinks, { until: allHold(s, [target]) })).toMatchObject({ code: 0, failed: null });
      console.log(await checkAll(s, ['fast'], [target]));
    } finally {
      await closeAll(s, [target]);
    }
  }, 180_000);
});

/** The run's recording sink holds an event past the target's checkpoint. */
function aheadOf(checkpoint: string | null, all: readonly Delivery[], child: RunningChild): boolean {
  const p = checkpoint === null ? null : positionOf(checkpoint);
  return all.some((d) => d.run === child.run && (p === null || !atOrBefore(d, p)));
}

describe('C. Postgres faults with a target', () => {
  it('C14 Postgres crash with a Postgres target: the pipeline dies with the postmaster right after its ack; the restart replays from the regressed confirmed_flush_lsn and the target applies nothing twice', async () => {
    const pg = await startPostgres({ version: 18 });
    const s = await createScenario(pg.connectionString);
    // The target lives on the suite's own cluster: the crash is the source's.
    const target = await postgresTarget(admin(), 'pg');
    s.onRunEnd(target.observe);
    const sinks: SinkSpec[] = [{ name: 'rec' }, target.spec];
    // O2 for the recording sink counts from what the slot kept through the crash (the regressed position); O5
    // uses what it had confirmed when the pipeline died (s.ends, as recorded).
    const kept: RunEnd[] = [];
    const workloads: Workload[] = [];
    try {
      await sql(s.url, 'CHECKPOINT');
      await s.workload.close();
      // Postgres saves a slot at checkpoints and sometimes when its restart point moves, so one crash may not lose
      // the last confirmation: crash up to four times, until one really does.
      let before = 0n;
      let after = 0n;
      for (let round = 0; round < 4 && !(after > 0n && after < before); round++) {
        const child = s.start({ sinks });
        await child.waitFor('started');
        const w = await createWorkload({ connectionString: s.url, table: 'w' });
        workloads.push(w);
        for (let i = 0; i < 150; i++) await w.tx([1 + (i % 40), 41 + (i % 40)]);
        // The last transaction's commit LSN, as delivered; wait for our ack of it to reach the slot.
        let last = 0n;
        await until(async () => {
          const mine = (await s.deliveries()).find((d) => d.xid === w.committed.at(-1)?.xid);
          if (mine) last = BigInt(mine.lsn);
          return mine !== undefined;
        }, 'the last transaction delivered');
        await child.waitFor(`ack ${formatLsn(last)}`);
        await until(async () => (await slotConfirmedLsn(s.url, s.slot)) > last, 'the ack in the slot', 30_000, 20);
        await w.close();
        // A host crash: the pipeline and the postmaster die together, right after the ack.
        await s.end(child, 'SIGKILL');
        before = (s.ends.at(-1) as RunEnd).confirmed;
        await pg.crash();
        await pg.restart();
        after = await slotConfirmedLsn(s.url, s.slot);
        kept.push({ run: child.run, confirmed: after < before ? after : before });
      }
      // The fault really happened: Postgres forgot part of what we confirmed.
      expect(after).toBeLessThan(before);
      // More writes after the restart; a new pipeline gets them after the replay of what the slot forgot.
      const w2 = await createWorkload({ connectionString: s.url, table: 'w' });
      workloads.push(w2);
      for (let i = 0; i < 50; i++) await w2.tx([1 + i, 100 + i]);
      const want = new Set(workloads.flatMap((w) => [...w.versions()]));
      const caught = await s.catchUp(sinks, { versions: want, until: allHold(s, [target], want) });
      expect(caught).toMatchObject({ code: 0, failed: null });
      kept.push(s.ends.at(-1) as RunEnd);
      const all = await s.deliveries();
      // The replay reached the sinks: the recording sink got again what the slot had forgotten, the target skipped
      // it by its checkpoint (its trigger fails any change applied twice).
      const last = s.ends.at(-1) as RunEnd;
      const replayed = all.filter((d) => d.run === last.run && BigInt(d.lsn) < before).length;
      expect(replayed).toBeGreaterThan(0);
      assertEveryChangeDelivered(want, all, 'rec');
      assertDuplicatesOnlyAfterAck(all, kept, 'rec');
      assertPerKeyOrder(all, 'rec');
      await assertTargetEqualsSource(s.url, 'w', all, 'rec');
      assertConfirmedNeverAhead(all, s.ends, ['rec']);
      console.log(
        `rec: ${replayed} events replayed; ${await target.check({ url: s.url, versions: want, deliveries: all })}`,
      );
    } finally {
      for (const w of workloads) await w.close().catch(() => {});
      await closeAll(s, [target]);
      await pg.stop();
    }
  }, 180_000);
});

describe('B. broker faults with a target', () => {
  it('B11 RabbitMQ unroutable, then alarmed: a returned publish fails the write and nothing is confirmed past it; once a queue is bound the retry delivers everything in key order; during a memory alarm the slot stays put, through a SIGKILL too', async () => {
    const s = await createScenario(admin());
    const rabbit = await rabbitTarget('rabbit');
    s.onRunEnd(rabbit.observe);
    const sinks: SinkSpec[] = [{ name: 'rec' }, rabbit.spec];
    // The pipeline keeps retrying (it would stop after core's 10 attempts): the fault lasts as long as the test says.
    const retry = { maxAttempts: 10_000, initialDelayMs: 50, maxDelayMs: 300 };
    const retries = (c: RunningChild) =>
      c
        .stdout()
        .split('\n')
        .filter((l) => l === 'retrying rabbit').length;
    try {
      const child = s.start({ sinks, retry });
      await child.waitFor('started');
      for (let i = 0; i < 20; i++) await s.workload.tx([1 + i, 21 + i]);
      const versions = s.workload.versions();
      // Unroutable: the exchange has no binding, the broker returns every message and the write fails, again and
      // again, while the recording sink has the whole batch.
      await until(async () => (await s.deliveries()).length >= 40, 'the recording sink to get the transactions');
      const acked = () => /^ack /m.test(child.stdout());
      await until(() => retries(child) >= 3 || acked(), 'the RabbitMQ write to be retried three times');
      const first = (await s.deliveries()).reduce((m, d) => (BigInt(d.lsn) < m ? BigInt(d.lsn) : m), 2n ** 64n);
      expect(acked(), 'a position confirmed while every publish came back').toBe(false);
      expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThanOrEqual(first);
      expect(retries(child)).toBeGreaterThanOrEqual(3);
      // A queue bound to every key: the retry goes through and the slot moves.
      await rabbit.bind();
      await until(() => rabbit.holdsAll({ url: s.url, versions }), 'the queue to hold every change');
      await child.waitFor(/^ack /m);

      // A memory alarm on the machine's broker (shared: a few seconds at most, always restored): the connection is
      // blocked, each retry fails the same way, and a SIGKILL in the middle finds the slot at what the queue holds.
      const done = retries(child);
      const alarmed: string[] = [];
      await memoryAlarm(async () => {
        for (let i = 0; i < 10; i++) alarmed.push((await s.workload.tx([1 + i, 21 + i])).xid);
        await until(() => retries(child) >= done + 2, 'the blocked write to be retried', 10_000);
        await s.end(child, 'SIGKILL');
      });
      // Nothing written during the alarm was confirmed: the slot is at most at the commit LSN of the alarm's first
      // transaction (a restart sends again every transaction that commits at or after it). Before that transaction
      // the server may log a record of no transaction (a running-xacts snapshot, 56 bytes), which may be confirmed.
      const xids = new Set(alarmed);
      const commits = (await s.deliveries())
        .filter((d) => d.sink === 'rec' && xids.has(d.xid))
        .map((d) => BigInt(d.lsn));
      expect(commits.length, 'the recording sink holds the blocked write').toBeGreaterThan(0);
      let firstCommit = commits[0] as bigint;
      for (const c of commits) if (c < firstCommit) firstCommit = c;
      expect((s.ends.at(-1) as RunEnd).confirmed).toBeLessThanOrEqual(firstCommit);
      expect(await s.catchUp(sinks, { retry, until: allHold(s, [rabbit]) })).toMatchObject({ code: 0, failed: null });
      console.log(await checkAll(s, ['rec'], [rabbit]));
    } finally {
      await closeAll(s, [rabbit]);
    }
  }, 180_000);
});

function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * Runs `fn` while the broker's memory alarm is on (its high watermark set near zero), and restores the watermark
 * afterwards whatever happens: the machine's broker serves other tests too.
 */
async function memoryAlarm(fn: () => Promise<void>): Promise<void> {
  const watermark = rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().').trim();
  const absolute = /^\{absolute,\s*(\d+)\}$/.exec(watermark);
  try {
    rabbitmqctl('set_vm_memory_high_watermark', '0.0000001');
    // The broker raises the alarm at its memory monitor's next check, not at once: writes before that go through
    // (and are confirmed, rightly), so the fault starts once the alarm is up.
    await until(() => /memory/.test(rabbitmqctl('eval', 'rabbit_alarm:get_alarms().')), 'the memory alarm', 10_000);
    await fn();
  } finally {
    rabbitmqctl('set_vm_memory_high_watermark', ...(absolute ? ['absolute', absolute[1] as string] : [watermark]));
  }
}
