/**
 * Against librdkafka's mock cluster (real Kafka protocol). The mock reports controller id 0, so kafkajs'
 * idempotent producer cannot initialise against it: the non-idempotent path is what is tested here.
 */
import { randomBytes } from 'node:crypto';
import { type ChangeEvent, createPipeline, decodeEventJson } from '@walstream/core';
import { createArrayReader, describeSinkContract, makeTransactions } from '@walstream/core/testing';
import { type KafkaMock, startKafkaMock } from '@walstream/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaSink, stableKey } from '../src/index.js';

let mock: KafkaMock;
beforeAll(async () => {
  mock = await startKafkaMock(3);
});
afterAll(() => mock.stop());

const unique = () => `t${randomBytes(4).toString('hex')}`;

/** Every message of `topic` (all partitions), in partition order, read with a fresh consumer group. */
async function readTopic(
  topic: string,
): Promise<{ event: ChangeEvent; key: string | null; partition: number; headers: Record<string, string> }[]> {
  const kafka = new Kafka({ clientId: 'reader', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const out: { event: ChangeEvent; key: string | null; partition: number; headers: Record<string, string> }[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: unique() });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        out.push({
          event: decodeEventJson(message.value?.toString() ?? ''),
          key: message.key?.toString() ?? null,
          partition,
          headers,
        });
        if (out.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describeSinkContract(
  'kafka',
  async () => {
    const topic = unique();
    await mock.createTopic(topic, 1); // one partition: the order of the whole topic is the write order
    return {
      sink: createKafkaSink({ brokers: mock.brokers, topic }),
      readBack: async () => (await readTopic(topic)).map((m) => m.event),
    };
  },
  { idempotent: false },
);

describe('kafka sink', () => {
  it('keys messages by primary key (stable JSON) and sets id, operation, LSN and transaction headers', async () => {
    expect(stableKey({ b: 2n, a: 'x' })).toBe('{"a":"x","b":"2"}');
    expect(stableKey(null)).toBeNull();
    const topic = unique();
    await mock.createTopic(topic, 3);
    const reader = createArrayReader(
      makeTransactions({ transactions: 10, eventsPerTransaction: 3, row: (n) => ({ id: n % 4 }) }),
    );
    const p = createPipeline({ name: 'k', reader, sinks: [createKafkaSink({ brokers: mock.brokers, topic })] });
    await p.start();
    await p.done;
    const msgs = await readTopic(topic);
    expect(msgs).toHaveLength(30);
    // Every key lives in one partition.
    const partitionOf = new Map<string, number>();
    for (const m of msgs) {
      const k = m.key as string;
      expect(partitionOf.get(k) ?? m.partition).toBe(m.partition);
      partitionOf.set(k, m.partition);
    }
    expect(new Set(partitionOf.keys())).toEqual(new Set(['{"id":0}', '{"id":1}', '{"id":2}', '{"id":3}']));
    const m = msgs.find((x) => x.event.id === '0/1100:2');
    expect(m?.headers).toEqual({
      'walstream-id': '0/1100:2',
      'walstream-operation': 'INSERT',
      'walstream-lsn': '0/1100',
      'walstream-transaction-id': '2',
    });
  });

  it('retries through a broker going down, confirms nothing past it, and delivers every event in per-key order', async () => {
    const topic = unique();
    await mock.createTopic(topic, 3);
    const items = makeTransactions({
      transactions: 300,
      eventsPerTransaction: 4,
      row: (n) => ({ id: n % 20, version: Math.floor(n / 20) }),
    });
    const reader = createArrayReader(items);
    const p = createPipeline({
      name: 'k',
      reader,
      sinks: [createKafkaSink({ brokers: mock.brokers, topic, timeoutMs: 2000 })],
      batch: { maxEvents: 20, maxWaitMs: 1 },
      retry: { maxAttempts: 200, initialDelayMs: 20, maxDelayMs: 300 },
    });
    let retries = 0;
    p.on('retrying', () => retries++);
    await p.start();
    while (reader.pulled < 200) await new Promise((r) => setTimeout(r, 2));
    await mock.brokerDown(1);
    await mock.brokerDown(2);
    const ackedDuringOutage = reader.acks.length;
    await new Promise((r) => setTimeout(r, 1500));
    // While the partition leaders are down, nothing new may be confirmed beyond one in-flight completion.
    expect(reader.acks.length - ackedDuringOutage).toBeLessThanOrEqual(1);
    await mock.brokerUp(1);
    await mock.brokerUp(2);
    await p.done;
    expect(retries).toBeGreaterThan(0);
    const msgs = await readTopic(topic);
    const firstSeen = new Map<string, ChangeEvent>();
    for (const m of msgs) if (!firstSeen.has(m.event.id)) firstSeen.set(m.event.id, m.event);
    expect(firstSeen.size).toBe(1200); // every event at least once
    // Per key, in partition order, versions never go back (duplicates of a retried batch aside).
    const last = new Map<number, number>();
    const seen = new Set<string>();
    for (const m of msgs) {
      if (seen.has(m.event.id)) continue;
      seen.add(m.event.id);
      const id = m.event.after?.id as number;
      const v = m.event.after?.version as number;
      expect(v).toBeGreaterThanOrEqual(last.get(id) ?? 0);
      last.set(id, v);
    }
    expect(reader.acks.at(-1)?.lsn).toBe(0x1000n + 299n * 0x100n);
  });

  it('rejects bad options', () => {
    expect(() => createKafkaSink({ brokers: [] })).toThrow(/kafka.brokers/);
    expect(() => createKafkaSink({ brokers: ['x:1'], topic: '{nope}' })).toThrow(/unknown placeholder/);
  });
});
