/** Reads a whole topic back for the Kafka tests. */
import { randomBytes } from 'node:crypto';
import { type ChangeEvent, decodeEventJson } from '@walstream/core';
import { Kafka, logLevel } from 'kafkajs';

export const unique = () => `t${randomBytes(4).toString('hex')}`;

export interface Read {
  /** null for a tombstone. */
  event: ChangeEvent | null;
  key: string | null;
  partition: number;
  headers: Record<string, string>;
}

/** Every message of `topic` (all partitions), each partition in order, read with a fresh consumer group. */
export async function readAll(brokers: string[], topic: string): Promise<Read[]> {
  const kafka = new Kafka({ clientId: 'reader', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const out: Read[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: unique(), maxWaitTimeInMs: 100, rebalanceTimeout: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        out.push({
          event: message.value === null ? null : decodeEventJson(message.value.toString()),
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
