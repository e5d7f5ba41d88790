/**
 * Scenarios 1, 2, 11 and 14 with real destinations in the same run as the recording sinks (test/targets.ts):
 * a JetStream stream, Postgres and MySQL tables applied by the SQL sinks, a RabbitMQ queue. The recording sinks give
 * O1-O5 as in the other scenarios; each target is checked on what it holds (the stream and queue through the same
 * oracles, the SQL tables row for row with their checkpoint row and a trigger that fails any change applied twice)
 * and against the slot's position at every run end (O5).
 */
import { type Delivery, ensureServices, slotConfirmedLsn } from '@walstream/testkit';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createScenario, type RunningChild, type Scenario, type SinkSpec } from './harness.js';
import {
  atOrBefore,
  mysqlTarget,
  natsTarget,
  positionOf,
  postgresTarget,
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
      s.workload.start({ keys: 300, rowsPerTx: 2, pauseMs: 2 });
      const start = await slotConfirmedLsn(s.url, s.slot);
      // Four sinks: each batch is four writes. The recording and NATS sinks race through the backlog a run starts
      // with while the SQL sinks open, so the kills come late enough for some batches to be acked before them.
      for (const n of [400, 1000, 700]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false });
      }
      // The slot moved before a kill: O2 and O5 are held to a confirmed position, not only the slot's start.
      expect(s.ends.some((e) => e.confirmed > start)).toBe(true);
      await s.workload.stop();
      await s.catchUp(sinks, { until: allHold(s, targets) });
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
      s.workload.start({ keys: 300, rowsPerTx: 2, pauseMs: 2 });
      const start = await slotConfirmedLsn(s.url, s.slot);
      let split = 0;
      for (const n of [150, 400, 250]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false });
        if (aheadOf(await target.checkpoint(), await s.deliveries(), child)) split++;
      }
      // The kills landed while the two disagreed (the recording sink ahead), which is the point of this scenario.
      expect(split).toBeGreaterThan(0);
      expect(s.ends.some((e) => e.confirmed > start)).toBe(true);
      await s.workload.stop();
      await s.catchUp(sinks, { until: allHold(s, [target]) });
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
