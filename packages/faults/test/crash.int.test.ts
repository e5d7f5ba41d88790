/**
 * A. Crash and restart, with kills at chosen points (WALSTREAM_FAULT) instead of random moments, and recording
 * sinks that keep every delivery, so duplicates (O2) are counted rather than dropped by an idempotent sink.
 */
import { describe, expect, inject, it } from 'vitest';
import { createScenario } from './harness.js';

const admin = () => inject('faultsPostgres').url;

describe('A. crash and restart', () => {
  it('A1 kill before ack: SIGKILL after the sink write, before the LSN ack; duplicates only past the ack', async () => {
    const s = await createScenario(admin());
    const sinks = [{ name: 'rec' }];
    try {
      s.workload.start({ keys: 300, rowsPerTx: 2 });
      for (const n of [15, 40, 25]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        const r = await s.end(child);
        expect(r).toMatchObject({ signal: 'SIGKILL', stuck: false });
      }
      await s.workload.stop();
      await s.catchUp(sinks);
      await s.oracles(['rec']);
      const all = await s.deliveries();
      // The fault point fired after a write that was never acked: that batch comes again (and nothing older).
      expect(all.length).toBeGreaterThan(new Set(all.map((d) => d.id)).size);
    } finally {
      await s.close();
    }
  }, 180_000);

  it('A2 kill mid-batch: one sink has accepted a batch the other has not; the restart re-delivers to both', async () => {
    const s = await createScenario(admin());
    const sinks = [{ name: 'fast' }, { name: 'slow', delayMs: 40 }];
    try {
      s.workload.start({ keys: 300, rowsPerTx: 2 });
      let split = 0;
      for (const n of [12, 30, 21]) {
        const child = s.start({ sinks, fault: `after_sink_write_before_ack:${n}` });
        const r = await s.end(child);
        expect(r).toMatchObject({ signal: 'SIGKILL', stuck: false });
        const mine = (await s.deliveries()).filter((d) => d.run === child.run);
        const fast = new Set(mine.filter((d) => d.sink === 'fast').map((d) => d.id));
        const slow = new Set(mine.filter((d) => d.sink === 'slow').map((d) => d.id));
        if (fast.size !== slow.size || [...slow].some((id) => !fast.has(id))) split++;
      }
      // The kills landed while the sinks disagreed (the fast one ahead), which is the point of this scenario.
      expect(split).toBeGreaterThan(0);
      await s.workload.stop();
      await s.catchUp(sinks);
      await s.oracles(['fast', 'slow']);
    } finally {
      await s.close();
    }
  }, 180_000);

  it('A4 shared-LSN group: SIGKILL after event 100 of a 240-row INSERT at one commit LSN; no row lost', async () => {
    const s = await createScenario(admin());
    const sinks = [{ name: 'rec' }];
    try {
      await s.workload.tx([1, 2, 3]);
      const big = await s.workload.multiRow(240);
      await s.workload.tx([1, 2, 3]);
      // Batches of 20 events: the 6th write is the first one holding events 100..119 of the group.
      const child = s.start({ sinks, fault: 'after_sink_write_before_ack:6', maxEvents: 20 });
      expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false });
      const first = (await s.deliveries()).filter((d) => d.xid === big.xid);
      expect(new Set(first.map((d) => d.lsn)).size).toBe(1);
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(240);
      await s.catchUp(sinks);
      await s.oracles(['rec']);
      const group = (await s.deliveries()).filter((d) => d.xid === big.xid);
      expect(new Set(group.map((d) => d.index)).size).toBe(240);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('A7 SIGTERM: drains, acks, exits 0; the restart delivers nothing twice', async () => {
    const s = await createScenario(admin());
    const sinks = [{ name: 'rec' }];
    try {
      s.workload.start({ keys: 300, rowsPerTx: 2 });
      const child = s.start({ sinks });
      await child.waitFor('started');
      await child.waitFor(/ack .*\n[\s\S]*ack .*\n[\s\S]*ack /);
      const r = await s.end(child, 'SIGTERM');
      expect(r).toMatchObject({ code: 0, stuck: false });
      expect(child.stdout()).toContain('stopped');
      await s.workload.stop();
      await s.catchUp(sinks);
      await s.oracles(['rec']);
      const all = await s.deliveries();
      expect(all.filter((d) => d.run === 1).length).toBeGreaterThan(0);
      expect(all.length).toBe(new Set(all.map((d) => d.id)).size);
    } finally {
      await s.close();
    }
  }, 120_000);
});
