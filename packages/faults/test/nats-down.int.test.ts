/**
 * B8 NATS down, scaled: the broker is SIGKILLed for four times Postgres' wal_sender_timeout (3 s here) while the
 * workload writes more than the pipeline's byte budget. Pass: the bytes in flight stay under the budget (plus one
 * batch), the slot does not advance past what NATS holds, the same walsender serves us before and after (status
 * updates went on: no wal_sender_timeout disconnect), and after the restart every committed change is in the
 * stream (O1).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import { parsePgLsn, slotConfirmedLsn, startNatsServer, startPostgres } from '@walstream/testkit';
import { expect, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BUDGET = 256 * 1024;
const BATCH_BYTES = 32 * 1024;

it('B8 NATS down past wal_sender_timeout: bounded memory, no LSN advance, no walsender timeout, O1 after', async () => {
  const pg = await startPostgres({ version: 18, settings: { wal_sender_timeout: '3s' } });
  const s = await createScenario(pg.connectionString);
  const nats = await startNatsServer();
  const pipeline = createPipeline({
    name: 'b8',
    reader: createPostgresReader({
      connectionString: s.url,
      slot: s.slot,
      publication: s.publication,
      statusIntervalMs: 500,
    }),
    sinks: [
      {
        sink: createNatsSink({
          servers: nats.url,
          subject: 'b8.{table}',
          json: true,
          stream: { name: 'B8', subjects: ['b8.>'], storage: 'file' },
          schemaBucket: false,
          ackTimeoutMs: 500,
          connection: { reconnectTimeWait: 200, maxReconnectAttempts: -1 },
        }),
        retry: { maxAttempts: 1000, initialDelayMs: 100, maxDelayMs: 500 },
      },
    ],
    maxInFlightBytes: BUDGET,
    batch: { maxBytes: BATCH_BYTES, maxWaitMs: 5 },
  });
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, pipeline.status().inFlightBytes);
  }, 20);
  const walsender = async () =>
    (await sql(s.url, 'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [s.slot])).rows[0]
      ?.active_pid as number | null;
  try {
    await pipeline.start();
    await s.workload.tx([1, 2]);
    for (let i = 0; i < 200 && (await slotConfirmedLsn(s.url, s.slot)) === 0n; i++) await pause(20);
    const pid = await walsender();
    expect(pid).not.toBeNull();
    await nats.kill();
    const before = parsePgLsn((await sql(s.url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);
    // About 1.5 MB of rows: several times the budget.
    for (let i = 0; i < 300; i++) await s.workload.tx([10 + (i % 500), 600 + (i % 500)], 40);
    await pause(12_000);
    expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThanOrEqual(before);
    expect(await walsender()).toBe(pid);
    expect(peak).toBeLessThanOrEqual(BUDGET + BATCH_BYTES);
    expect(pipeline.status().backpressure).toBe(true);
    await nats.restart();
    const want = s.workload.versions();
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      let count = 0;
      for (let i = 0; i < 600 && count < want.size; i++) {
        await pause(50);
        count = (await jsm.streams.info('B8').catch(() => null))?.state.messages ?? 0;
      }
      const got = new Set<string>();
      const info = await jsm.streams.info('B8');
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage('B8', { seq });
        const e = JSON.parse(new TextDecoder().decode(m?.data)) as { after: { id: number; seq: number } };
        got.add(`${e.after.id}:${e.after.seq}`);
      }
      expect([...want].filter((v) => !got.has(v))).toEqual([]);
    } finally {
      await nc.close();
    }
    expect(await walsender()).toBe(pid);
    expect(peak).toBeLessThanOrEqual(BUDGET + BATCH_BYTES);
  } finally {
    clearInterval(sampler);
    await pipeline.stop().catch(() => {});
    await nats.stop();
    await s.close();
    await pg.stop();
  }
}, 120_000);
