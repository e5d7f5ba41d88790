import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type ChangeEvent, createPipeline, decodeEventJson } from '@walstream/core';
import { batchOf, createArrayReader, describeSinkContract, makeEvent, makeTransactions } from '@walstream/core/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRabbitMqSink } from '../src/index.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
let conn: amqp.ChannelModel;
let admin: amqp.Channel;
beforeAll(async () => {
  conn = await amqp.connect(URL);
  admin = await conn.createChannel();
});
afterAll(() => conn.close());

const unique = () => `t${randomBytes(4).toString('hex')}`;

/** An exchange with a queue bound to every key; returns a reader of what the queue holds. */
async function bound(
  exchange: string,
): Promise<{ queue: string; drain: () => Promise<ChangeEvent[]>; seen: ChangeEvent[] }> {
  await admin.assertExchange(exchange, 'topic', { durable: true });
  const q = await admin.assertQueue('', { exclusive: true });
  await admin.bindQueue(q.queue, exchange, '#');
  const seen: ChangeEvent[] = [];
  return {
    queue: q.queue,
    seen,
    async drain() {
      for (;;) {
        const m = await admin.get(q.queue, { noAck: true });
        if (m === false) return seen;
        expect(m.properties.messageId).toBeTruthy();
        seen.push(decodeEventJson(m.content.toString('utf8')));
      }
    },
  };
}

describeSinkContract(
  'rabbitmq',
  async () => {
    const exchange = unique();
    const b = await bound(exchange);
    return {
      sink: createRabbitMqSink({ url: URL, exchange }),
      readBack: b.drain,
      cleanup: async () => {
        await admin.deleteExchange(exchange);
      },
    };
  },
  { idempotent: false },
);

describe('rabbitmq sink', () => {
  const opts = { signal: new AbortController().signal };

  it('sets message_id, persistent delivery and a routing key safe from hostile table names', async () => {
    const exchange = unique();
    await admin.assertExchange(exchange, 'topic', { durable: true });
    const q = await admin.assertQueue('', { exclusive: true });
    await admin.bindQueue(q.queue, exchange, 'public.a_b___.update');
    const sink = createRabbitMqSink({ url: URL, exchange });
    await sink.write(batchOf(1, [makeEvent({ table: 'a.b #*', operation: 'UPDATE' })]), opts);
    const m = await admin.get(q.queue, { noAck: true });
    expect(m?.fields.routingKey).toBe('public.a_b___.update');
    expect(m?.properties.deliveryMode).toBe(2);
    expect(m?.properties.messageId).toBe('0/1000:0');
    await sink.close?.();
    await admin.deleteExchange(exchange);
  });

  it('fails the write when a message is unroutable (returned), and the pipeline confirms nothing past it', async () => {
    const exchange = unique(); // no queue bound
    const sink = createRabbitMqSink({ url: URL, exchange });
    await expect(sink.write(batchOf(1, [makeEvent()]), opts)).rejects.toThrow(/unroutable/);
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 1 }), { live: true });
    const p = createPipeline({
      name: 'r',
      reader,
      sinks: [sink],
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    await p.start();
    await expect(p.done).rejects.toThrow(/unroutable/);
    expect(reader.acks).toEqual([]);
    await admin.deleteExchange(exchange);
  });

  it('reconnects after the broker closes its connections, retrying until every event is confirmed', async () => {
    const exchange = unique();
    const queue = unique(); // durable and shared, so it outlives the closed connections
    await admin.assertExchange(exchange, 'topic', { durable: true });
    await admin.assertQueue(queue, { durable: true });
    await admin.bindQueue(queue, exchange, '#');
    const items = makeTransactions({ transactions: 300, eventsPerTransaction: 4 });
    const reader = createArrayReader(items);
    const p = createPipeline({
      name: 'r',
      reader,
      sinks: [createRabbitMqSink({ url: URL, exchange })],
      batch: { maxEvents: 8, maxWaitMs: 1 },
      retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 200 },
    });
    let retries = 0;
    p.on('retrying', () => retries++);
    await p.start();
    while (reader.pulled < 200) await new Promise((r) => setTimeout(r, 2));
    conn.on('error', () => {}); // the test's own connection is closed too
    execFileSync('rabbitmqctl', ['close_all_connections', 'walstream fault test'], { stdio: 'ignore' });
    await p.done;
    conn = await amqp.connect(URL);
    admin = await conn.createChannel();
    expect(retries).toBeGreaterThan(0);
    expect(reader.acks.at(-1)?.lsn).toBe(0x1000n + 299n * 0x100n);
    // Every event reached the queue at least once (a batch cut by the close may be published twice).
    const ids = new Set<string>();
    for (;;) {
      const m = await admin.get(queue, { noAck: true });
      if (m === false) break;
      ids.add(String(m.properties.messageId));
    }
    const all = items.filter((i): i is ChangeEvent => (i as { kind?: string }).kind === undefined).map((e) => e.id);
    expect(all.filter((id) => !ids.has(id))).toEqual([]);
    await admin.deleteQueue(queue);
    await admin.deleteExchange(exchange);
  });

  it('rejects bad options', () => {
    expect(() => createRabbitMqSink({ url: 'http://x' })).toThrow(/rabbitmq.url/);
    expect(() => createRabbitMqSink({ url: URL, routingKey: '{nope}' })).toThrow(/unknown placeholder/);
  });
});
