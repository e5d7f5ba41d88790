import {
  type ChangeEvent,
  createPipeline,
  type ReplicaIdentity,
  type SchemaChange,
  SinkError,
  silentLogger,
  type TableSchema,
} from '@walstream/core';
import { batchOf, createArrayReader, makeEvent, makeTransactions } from '@walstream/core/testing';
import { type KafkaMock, startKafkaMock } from '@walstream/testkit';
import { logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaSink, stableKey } from '../src/index.js';
import { readAll, unique } from './read-topic.js';

function tableSchema(table: string, replicaIdentity: ReplicaIdentity, columns: string[]): TableSchema {
  return {
    schema: 'public',
    table,
    relationId: 1,
    replicaIdentity,
    columns: columns.map((name) => ({
      name,
      type: 'text',
      typeOid: 25,
      typeModifier: -1,
      key: replicaIdentity === 'full',
    })),
  };
}

function schemaChange(schema: TableSchema, lsn: bigint): SchemaChange {
  return { kind: 'schema', position: { lsn, index: 0 }, schema, previous: null };
}

let mock: KafkaMock;
beforeAll(async () => {
  mock = await startKafkaMock(3);
});
afterAll(() => mock.stop());

const readTopic = (topic: string) => readAll(mock.brokers, topic);

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
    // Brokers 1 and 2 lead every partition; broker 3 stays up for metadata.
    for (const [partition, broker] of [
      [0, 1],
      [1, 2],
      [2, 1],
    ] as const) {
      await mock.setLeader(topic, partition, broker);
    }
    const items = makeTransactions({
      transactions: 300,
      eventsPerTransaction: 4,
      row: (n) => ({ id: n % 7, version: n }), // a batch holds several versions of a key
    });
    // The reader stops after 50 transactions until the outage is set up, so that no produce request is in flight
    // when the brokers go down: a request appended whose answer is then lost would be resent (at least once, the
    // one duplicate a non-idempotent producer cannot avoid) and is not what this test is about.
    const inner = createArrayReader(items);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const reader: LogReader = {
      async *read(opts) {
        let i = 0;
        for await (const item of inner.read(opts)) {
          if (i++ === 250) await gate;
          yield item;
        }
      },
      ack: (position) => inner.ack(position),
      close: () => inner.close(),
    };
    const p = createPipeline({
      name: 'k',
      reader,
      sinks: [createKafkaSink({ brokers: mock.brokers, topic, timeoutMs: 2000 })],
      batch: { maxEvents: 20, maxWaitMs: 1 },
      retry: { maxAttempts: 200, initialDelayMs: 20, maxDelayMs: 300 },
    });
    let retries = 0;
    p.on('retrying', () => retries++);
    // A partial failure first: broker 2's first produce requests fail (more than kafkajs retries) while broker 1
    // appends its partitions' messages, and the pipeline retries the batch. Injected before the start: all used up.
    await mock.failRequests(2, 0, 7, 6);
    await p.start();
    // Every event before the gate (50 transactions of 4) written, no write under way.
    const quiet = () => {
      const s = p.status().sinks[0];
      return s?.eventsOut === 200 && s.queuedBatches === 0;
    };
    while (!quiet()) await new Promise((r) => setTimeout(r, 5));
    await mock.brokerDown(1);
    await mock.brokerDown(2);
    try {
      const acked = inner.acks.length;
      release();
      await new Promise((r) => setTimeout(r, 1500));
      // While the partition leaders are down, nothing new may be confirmed.
      expect(inner.acks.length).toBe(acked);
    } finally {
      await mock.brokerUp(1);
      await mock.brokerUp(2);
    }
    await p.done;
    expect(retries).toBeGreaterThan(0);
    const msgs = await readTopic(topic);
    const events = msgs.map((m) => m.event as ChangeEvent);
    expect(new Set(events.map((e) => e.id)).size).toBe(1200); // every event at least once
    // Per key, in partition order, duplicates included: positions (and so row versions) never go back.
    const last = new Map<number, ChangeEvent>();
    const backwards: string[] = [];
    for (const e of events) {
      const id = e.after?.id as number;
      const prev = last.get(id);
      if (prev !== undefined && (e.after?.version as number) < (prev.after?.version as number)) {
        backwards.push(`key ${id}: ${prev.id} then ${e.id}`);
      }
      last.set(id, e);
    }
    expect(backwards).toEqual([]);
    expect(inner.acks.at(-1)?.lsn).toBe(0x1000n + 299n * 0x100n);
  });

  it('a retry resends only what its partition did not acknowledge (no partition gets v1, v2 twice)', async () => {
    const topic = unique();
    await mock.createTopic(topic, 2);
    await mock.setLeader(topic, 0, 1);
    await mock.setLeader(topic, 1, 2);
    const events = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) =>
      makeEvent({ lsn: 0x100n, index: i, after: { id: i % 5, v: i } }),
    );
    // Both partitions are touched (kafkajs' default partitioner is murmur2 of the key, as the Java client).
    const part = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1].map((p) => ({
      partitionId: p,
      leader: p + 1,
      partitionErrorCode: 0,
      replicas: [],
      isr: [],
    }));
    const partitionOf = (e: ChangeEvent) =>
      part({ topic, partitionMetadata, message: { key: stableKey(e.key), value: '' } });
    expect(new Set(events.map(partitionOf))).toEqual(new Set([0, 1]));
    const sink = createKafkaSink({
      brokers: mock.brokers,
      topic,
      timeoutMs: 1000,
      kafka: { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 }, connectionTimeout: 500 },
    });
    await sink.open?.({ pipeline: 't', logger: silentLogger, signal: new AbortController().signal });
    const batch = batchOf(1, events);
    const opts = { signal: new AbortController().signal };
    // Broker 2 (leader of partition 1) fails its next two produce requests (kafkajs' two attempts) without
    // appending; broker 1 appends partition 0's messages in the same write.
    await mock.failRequests(2, 0, 7, 2);
    await expect(sink.write(batch, opts)).rejects.toMatchObject({ retriable: true });
    await sink.write(batch, opts); // the pipeline's retry of the same batch
    await sink.close?.();
    const msgs = await readTopic(topic);
    const byPartition = [0, 1].map((p) => msgs.filter((m) => m.partition === p).map((m) => m.event?.id));
    for (const p of [0, 1]) {
      expect(byPartition[p]).toEqual(events.filter((e) => partitionOf(e) === p).map((e) => e.id));
    }
  });

  it('sends a tombstone (same key, null value) after each DELETE unless tombstones: false', async () => {
    const events = [
      makeEvent({ lsn: 0x100n, index: 0, after: { id: 7, note: 'a' } }),
      makeEvent({ lsn: 0x100n, index: 1, operation: 'DELETE', key: { id: 7 }, before: { id: 7 }, after: null }),
      makeEvent({ lsn: 0x100n, index: 2, after: { id: 8, note: 'b' } }),
    ];
    for (const tombstones of [undefined, false]) {
      const topic = unique();
      await mock.createTopic(topic, 3);
      const sink = createKafkaSink({
        brokers: mock.brokers,
        topic,
        ...(tombstones === undefined ? {} : { tombstones }),
      });
      await sink.write(batchOf(1, events), { signal: new AbortController().signal });
      await sink.close?.();
      const msgs = await readTopic(topic);
      const ofSeven = msgs.filter((m) => m.key === '{"id":7}');
      const expected = [
        ['INSERT', '{"id":7}'],
        ['DELETE', '{"id":7}'],
        ...(tombstones === false ? [] : [['tombstone', '{"id":7}']]),
      ];
      expect(ofSeven.map((m) => [m.event?.operation ?? 'tombstone', m.key])).toEqual(expected);
      expect(new Set(ofSeven.map((m) => m.partition)).size).toBe(1);
      expect(msgs).toHaveLength(expected.length + 1);
    }
  });

  it('a primary-key change sends a DELETE and a tombstone for the old key before the row under its new key', async () => {
    const topic = unique();
    await mock.createTopic(topic, 1); // one partition: the topic's order is the send order
    const full = tableSchema('items', 'full', ['id', 'note']);
    const events = [
      // REPLICA IDENTITY DEFAULT: `before` holds the old key only when the key changed.
      makeEvent({
        lsn: 0x100n,
        index: 0,
        operation: 'UPDATE',
        key: { id: 2 },
        before: { id: 1 },
        after: { id: 2, note: 'x' },
      }),
      makeEvent({
        lsn: 0x100n,
        index: 1,
        operation: 'UPDATE',
        key: { id: 2 },
        before: { id: 2 },
        after: { id: 2, note: 'y' },
      }),
    ];
    const fullEvents = [
      // REPLICA IDENTITY FULL with a primary key: the event key is the primary key, `before` the whole old row.
      makeEvent({
        lsn: 0x200n,
        index: 0,
        operation: 'UPDATE',
        key: { id: 4 },
        before: { id: 3, note: 'a' },
        after: { id: 4, note: 'a' },
      }),
      makeEvent({
        lsn: 0x200n,
        index: 1,
        operation: 'UPDATE',
        key: { id: 4 },
        before: { id: 4, note: 'a' },
        after: { id: 4, note: 'b' },
      }),
    ];
    const sink = createKafkaSink({ brokers: mock.brokers, topic });
    const opts = { signal: new AbortController().signal };
    await sink.write(batchOf(1, events), opts);
    await sink.write({ ...batchOf(2, fullEvents), schemaChanges: [schemaChange(full, 0x200n)] }, opts);
    await sink.close?.();
    const msgs = await readTopic(topic);
    expect(msgs.map((m) => [m.event?.operation ?? 'tombstone', m.key, m.event?.id ?? null])).toEqual([
      ['DELETE', '{"id":1}', '0/100:0'],
      ['tombstone', '{"id":1}', null],
      ['UPDATE', '{"id":2}', '0/100:0'],
      ['UPDATE', '{"id":2}', '0/100:1'],
      ['DELETE', '{"id":3}', '0/200:0'],
      ['tombstone', '{"id":3}', null],
      ['UPDATE', '{"id":4}', '0/200:0'],
      ['UPDATE', '{"id":4}', '0/200:1'],
    ]);
    const del = msgs[0]?.event as ChangeEvent;
    expect([del.key, del.before, del.after]).toEqual([{ id: 1 }, { id: 1 }, null]);
    expect(msgs[0]?.headers['walstream-operation']).toBe('DELETE');
  });

  it('a table without a primary key gets its configured key columns or a null key, never the whole row', async () => {
    // REPLICA IDENTITY FULL without a primary key: the reader's event key is the whole row.
    const nopk = tableSchema('nopk', 'full', ['a', 'b']);
    const row = (b: string) => ({ a: 1, b });
    const events = [
      makeEvent({ lsn: 0x100n, index: 0, table: 'nopk', key: row('x'), after: row('x') }),
      makeEvent({
        lsn: 0x100n,
        index: 1,
        table: 'nopk',
        operation: 'UPDATE',
        key: row('y'),
        before: row('x'),
        after: row('y'),
      }),
      makeEvent({
        lsn: 0x100n,
        index: 2,
        table: 'nopk',
        operation: 'DELETE',
        key: row('y'),
        before: row('y'),
        after: null,
      }),
    ];
    const batch = { ...batchOf(1, events), schemaChanges: [schemaChange(nopk, 0x100n)] };
    const cases = [
      { keyColumns: undefined, keys: [null, null, null] },
      { keyColumns: { 'public.nopk': ['a'] }, keys: ['{"a":1}', '{"a":1}', '{"a":1}', '{"a":1}'] },
    ];
    for (const c of cases) {
      const topic = unique();
      await mock.createTopic(topic, 1);
      const sink = createKafkaSink({
        brokers: mock.brokers,
        topic,
        ...(c.keyColumns ? { keyColumns: c.keyColumns } : {}),
      });
      await sink.write(batch, { signal: new AbortController().signal });
      await sink.close?.();
      const msgs = await readTopic(topic);
      // A null key has no tombstone (nothing to compact); a configured key gets one after the DELETE.
      expect(msgs.map((m) => m.key)).toEqual(c.keys);
      expect(msgs.map((m) => m.event?.operation ?? 'tombstone')).toEqual(
        ['INSERT', 'UPDATE', 'DELETE', 'tombstone'].slice(0, c.keys.length),
      );
    }
  });

  it('configures the idempotent producer so kafkajs does not warn (and the mock cannot initialise it)', async () => {
    const warnings: string[] = [];
    const logCreator = () => (entry: { level: number; log: { message: string } }) => {
      if (entry.level <= logLevel.WARN) warnings.push(entry.log.message);
    };
    const sink = createKafkaSink({
      brokers: mock.brokers,
      idempotent: true,
      kafka: { logLevel: logLevel.WARN, logCreator },
    });
    // librdkafka's mock reports controller id 0, which is no broker: kafkajs cannot fetch a producer id there.
    const err = await sink
      .open?.({ pipeline: 't', logger: silentLogger, signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(String((err as SinkError).message)).toMatch(/KafkaJSBrokerNotFound|KafkaJSNumberOfRetriesExceeded/);
    await sink.close?.();
    expect(warnings.filter((w) => !/Broker 0 not found|Failed to send|Connection/i.test(w))).toEqual([]);
  });

  it('refuses (not retriable, naming the column, no values) an event that lacks a configured key column', async () => {
    const topic = unique();
    await mock.createTopic(topic, 1);
    const sink = createKafkaSink({ brokers: mock.brokers, topic, keyColumns: { 'public.items': ['sku'] } });
    const event = makeEvent({ lsn: 0x100n, after: { id: 1, note: 'secret value' } });
    const err = await sink.write(batchOf(1, [event]), { signal: new AbortController().signal }).catch((e) => e);
    await sink.close?.();
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retriable: false });
    expect((err as Error).message).toContain('sku');
    expect((err as Error).message).not.toContain('secret value');
    expect(await readTopic(topic)).toEqual([]);
  });

  it('rejects bad options', () => {
    expect(() => createKafkaSink({ brokers: [] })).toThrow(/kafka.brokers/);
    expect(() => createKafkaSink({ brokers: ['x:1'], topic: '{nope}' })).toThrow(/unknown placeholder/);
  });
});
