/**
 * B10 Kafka leader loss on one partition: three partitions led by three brokers; the leader of one goes down while
 * the others keep acknowledging. Pass: nothing of the transaction with rows in the stuck partition is confirmed to
 * the slot while it is down (O5); once it is back every committed change is in the topic (O1) and the slot moves on.
 */
import { randomBytes } from 'node:crypto';
import { createPipeline, decodeEventJson } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createKafkaSink } from '@walstream/sink-kafka';
import { parsePgLsn, slotConfirmedLsn, startKafkaMock } from '@walstream/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { expect, inject, it } from 'vitest';
import { createScenario } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `id:seq` of every message in the topic (all partitions), read with a fresh consumer group. */
async function versionsIn(brokers: string[], topic: string, want: number): Promise<Set<string>> {
  const kafka = new Kafka({ clientId: 'b10', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `g${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const out = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 20_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value === null) return;
          const e = decodeEventJson(message.value.toString());
          out.add(`${e.after?.id}:${e.after?.seq}`);
          if (out.size >= want) {
            clearTimeout(t);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

it('B10 Kafka leader of one partition lost: no ack past the stuck partition, O1 once it is back', async () => {
  const mock = await startKafkaMock(3);
  const topic = `b10${randomBytes(3).toString('hex')}`;
  await mock.createTopic(topic, 3);
  for (const [partition, broker] of [
    [0, 1],
    [1, 2],
    [2, 3],
  ] as const)
    await mock.setLeader(topic, partition, broker);
  const s = await createScenario(inject('faultsPostgres').url);
  const pipeline = createPipeline({
    name: 'b10',
    reader: createPostgresReader({
      connectionString: s.url,
      slot: s.slot,
      publication: s.publication,
      statusIntervalMs: 50,
    }),
    sinks: [
      {
        sink: createKafkaSink({ brokers: mock.brokers, topic, timeoutMs: 1000 }),
        retry: { maxAttempts: 500, initialDelayMs: 50, maxDelayMs: 300 },
      },
    ],
    batch: { maxWaitMs: 5 },
  });
  try {
    await pipeline.start();
    const first = parsePgLsn((await s.workload.tx(Array.from({ length: 30 }, (_, i) => i + 1))).lsnAfterCommit);
    for (let i = 0; i < 400 && (await slotConfirmedLsn(s.url, s.slot)) < first; i++) await pause(50);
    expect(await slotConfirmedLsn(s.url, s.slot)).toBeGreaterThanOrEqual(first);
    await mock.brokerDown(2);
    let stuck = 0n;
    try {
      // 30 keys: some hash to the partition whose leader is down.
      stuck = parsePgLsn((await s.workload.tx(Array.from({ length: 30 }, (_, i) => i + 31))).lsnAfterCommit);
      await pause(3000);
      expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThan(stuck);
    } finally {
      await mock.brokerUp(2);
    }
    for (let i = 0; i < 600 && (await slotConfirmedLsn(s.url, s.slot)) < stuck; i++) await pause(50);
    expect(await slotConfirmedLsn(s.url, s.slot)).toBeGreaterThanOrEqual(stuck);
    const want = s.workload.versions();
    const got = await versionsIn(mock.brokers, topic, want.size);
    expect([...want].filter((v) => !got.has(v))).toEqual([]);
  } finally {
    await pipeline.stop().catch(() => {});
    await s.close();
    await mock.stop();
  }
}, 120_000);
