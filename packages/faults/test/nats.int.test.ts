/**
 * B9 NATS ack timeout: JetStream stores a publish but its PubAck never reaches the sink (the proxy drops what the
 * server sends), the sink's ack timeout fires and the pipeline publishes again under the same Nats-Msg-Id; then
 * the link resets and recovers. Pass: nothing is confirmed to the slot while the acks are missing; within the
 * stream's duplicate_window the stream holds each event once and the sink counts the duplicate acks; past the
 * window the re-publish is stored again and visible (the same Msg-Id twice in the stream, for consumers to drop).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import { parsePgLsn, slotConfirmedLsn, startNatsServer, startTcpProxy } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lostAcks(windowMs: number, outageMs: number) {
  const nats = await startNatsServer();
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: nats.port });
  const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
  const jsm = await jetstreamManager(nc);
  const s = await createScenario(inject('faultsPostgres').url);
  const stream = `B9_${windowMs}`;
  const sink = createNatsSink({
    servers: `127.0.0.1:${proxy.port}`,
    subject: 'b9.{table}',
    json: true,
    stream: { name: stream, subjects: ['b9.>'], storage: 'memory', duplicateWindowMs: windowMs },
    schemaBucket: false,
    ackTimeoutMs: 300,
    connection: { reconnectTimeWait: 100 },
  });
  const pipeline = createPipeline({
    name: 'b9',
    reader: createPostgresReader({
      connectionString: s.url,
      slot: s.slot,
      publication: s.publication,
      statusIntervalMs: 50,
    }),
    sinks: [{ sink, retry: { maxAttempts: 100, initialDelayMs: 100, maxDelayMs: 300 } }],
    batch: { maxWaitMs: 5 },
  });
  try {
    await pipeline.start();
    const before = parsePgLsn((await sql(s.url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);
    proxy.drop('client');
    await s.workload.tx([1, 2, 3]);
    const stored = async () => (await jsm.streams.info(stream)).state.messages;
    for (let i = 0; i < 200 && (await stored()) < 3; i++) await pause(20);
    expect(await stored()).toBeGreaterThanOrEqual(3);
    // Acks lost for a while: the sink times out and publishes again, and nothing is confirmed.
    await pause(outageMs);
    const confirmedDuringOutage = await slotConfirmedLsn(s.url, s.slot);
    expect(confirmedDuringOutage).toBeLessThanOrEqual(before);
    proxy.drop(null);
    proxy.cut();
    let after = 0n;
    for (let i = 0; i < 400 && after <= before; i++) {
      await pause(50);
      after = await slotConfirmedLsn(s.url, s.slot);
    }
    expect(after).toBeGreaterThan(before);
    const ids: string[] = [];
    const info = await jsm.streams.info(stream);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      ids.push(m?.header?.get('Nats-Msg-Id') ?? '');
    }
    // O1: every event of the transaction is in the stream.
    expect(new Set(ids).size).toBe(3);
    return { ids, duplicates: sink.status().duplicates };
  } finally {
    await pipeline.stop().catch(() => {});
    await nc.close();
    await proxy.close();
    await nats.stop();
    await s.close();
  }
}

it('B9 NATS ack lost within the duplicate window: the re-publish is dropped by Msg-Id and counted', async () => {
  const r = await lostAcks(60_000, 1500);
  expect(r.ids.length).toBe(3);
  expect(r.duplicates).toBeGreaterThanOrEqual(3);
});

it('B9 NATS ack lost past the duplicate window: the re-publish is stored again, visible by its Msg-Id', async () => {
  const r = await lostAcks(1000, 3000);
  const counts = new Map<string, number>();
  for (const id of r.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  expect([...counts.values()].every((n) => n >= 2)).toBe(true);
});
