/**
 * A3 kill inside a large transaction (protocol v1: decoded after commit; v2: streamed in chunks while it runs).
 * SIGKILL when part of the transaction has reached the sink. Pass: nothing of it was confirmed (no partial tail),
 * the restart sends all of it again, O1-O5. WALSTREAM_FAULTS_ROWS scales it (FAULTS.md asks 500k; default 100k).
 */
import { describe, expect, inject, it } from 'vitest';
import { createScenario, sql } from '../test/harness.js';

const ROWS = Number(process.env.WALSTREAM_FAULTS_ROWS ?? 100_000);

describe.each([1, 2] as const)('protocol v%i', (protocolVersion) => {
  it(`A3 kill inside a large transaction: ${ROWS} rows, SIGKILL half-way through delivery, all-or-resend`, async () => {
    const s = await createScenario(inject('faultsPostgres').url);
    const sinks = [{ name: 'a' }, { name: 'b' }];
    try {
      // A small decoding budget for this database, so protocol v2 really streams the transaction in chunks.
      await sql(s.url, `ALTER DATABASE ${s.url.split('/').pop()} SET logical_decoding_work_mem = '1MB'`);
      await s.workload.tx([1, 2]);
      const big = await s.workload.multiRow(ROWS);
      await s.workload.tx([1, 2]);
      const half = Math.max(1, Math.floor(ROWS / 1000 / 2));
      // Two sinks, batches of 1000: the (2 * half)-th write lands about half-way through the transaction.
      const child = s.start({
        sinks,
        fault: `after_sink_write_before_ack:${2 * half}`,
        maxEvents: 1000,
        protocolVersion,
      });
      expect(await s.end(child)).toMatchObject({ signal: 'SIGKILL', stuck: false });
      const before = (await s.deliveries()).filter((d) => d.xid === big.xid && d.sink === 'a');
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(ROWS);
      // No partial tail: the slot did not move past the transaction's commit.
      expect(s.ends[0]?.confirmed ?? 0n).toBeLessThanOrEqual(BigInt((before[0] as { lsn: string }).lsn));
      await s.catchUp(sinks);
      const summary = await s.oracles(['a', 'b']);
      console.log(`A3 v${protocolVersion}: ${before.length} of ${ROWS} before the kill; ${summary}`);
    } finally {
      await s.close();
    }
  });
});
