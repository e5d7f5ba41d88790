/**
 * A6 split brain: a second instance starts while the first still streams from the slot. Pass: the second fails
 * fast with a typed SlotActiveError and delivers nothing; once the first is gone (SIGKILL), an instance that takes
 * over starts from the slot's confirmed position (walstream keeps no offset of its own to go stale), so O1-O5 hold
 * across all three process lives.
 */
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

it('A6 split brain: a second instance fails fast on "slot active"; the takeover resumes from the slot (O1-O5)', async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const sinks = [{ name: 'rec' }];
  try {
    s.workload.start({ keys: 300, rowsPerTx: 2 });
    const first = s.start({ sinks });
    await first.waitFor('started');
    await first.waitFor(/ack /);
    const second = s.start({ sinks });
    await second.waitFor(/failed |started/);
    expect(second.stdout()).toContain('failed SLOT_ACTIVE');
    expect((await second.exited).code).toBe(1);
    expect((await s.deliveries()).filter((d) => d.run === second.run)).toEqual([]);
    // The first instance dies; the slot is free once its walsender has noticed.
    await s.end(first, 'SIGKILL');
    for (let i = 0; i < 200; i++) {
      const r = await sql(s.url, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [s.slot]);
      if (r.rows[0]?.active === false) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await s.workload.stop();
    await s.catchUp(sinks);
    await s.oracles(['rec']);
  } finally {
    await s.close();
  }
}, 120_000);
