import { type ChangeEvent, createPipeline, SinkError } from '@walstream/core';
import { batchOf, createArrayReader, makeEvent, makeTransactions } from '@walstream/core/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRabbitMqSink } from '../src/index.js';
import { boundQueue, holdingProxy, rabbitmqctl, unique, within } from './helpers.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
let conn: amqp.ChannelModel;
let admin: amqp.Channel;
beforeAll(async () => {
  conn = await amqp.connect(URL);
  admin = await conn.createChannel();
});
afterAll(() => conn.close());

const bound = (exchange: string) => boundQueue(admin, exchange);

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
    const proxy = await holdingProxy(); // only to tell the sink's connections from other users of the shared broker
    const p = createPipeline({
      name: 'r',
      reader,
      sinks: [createRabbitMqSink({ url: proxy.url, exchange })],
      batch: { maxEvents: 8, maxWaitMs: 1 },
      retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 200 },
    });
    let retries = 0;
    p.on('retrying', () => retries++);
    await p.start();
    while (reader.pulled < 200) await new Promise((r) => setTimeout(r, 2));
    proxy.brokerCloses();
    await p.done;
    await proxy.close();
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

  it('waiting for confirms has a timeout: confirms that never come fail the write as retriable, and it recovers', async () => {
    const exchange = unique();
    const b = await bound(exchange);
    const proxy = await holdingProxy();
    const sink = createRabbitMqSink({ url: proxy.url, exchange, confirmTimeoutMs: 1000 });
    try {
      await sink.write(batchOf(1, [makeEvent({ lsn: 0x100n })]), opts);
      proxy.hold(true);
      const err = await within(
        sink.write(batchOf(2, [makeEvent({ lsn: 0x200n })]), opts).catch((e: unknown) => e),
        15_000,
      );
      expect(err).toBeInstanceOf(SinkError);
      expect((err as SinkError).retriable).toBe(true);
      expect((err as SinkError).message).toMatch(/confirm/);
      proxy.hold(false);
      await sink.write(batchOf(3, [makeEvent({ lsn: 0x300n })]), opts); // the retry, on a new connection
      expect((await b.drain()).map((e) => e.id)).toContain('0/300:0');
    } finally {
      await sink.close?.();
      await proxy.close();
      await admin.deleteExchange(exchange);
    }
  });

  it('an abort ends a write that waits for confirms', async () => {
    const exchange = unique();
    const b = await bound(exchange);
    const proxy = await holdingProxy();
    const sink = createRabbitMqSink({ url: proxy.url, exchange }); // default confirm timeout: long
    try {
      await sink.write(batchOf(1, [makeEvent({ lsn: 0x100n })]), opts);
      proxy.hold(true);
      const ac = new AbortController();
      const writing = sink.write(batchOf(2, [makeEvent({ lsn: 0x200n })]), { signal: ac.signal }).catch((e) => e);
      setTimeout(() => ac.abort(), 300);
      const err = await within(writing, 10_000);
      expect(err).toBeInstanceOf(SinkError);
      expect((err as SinkError).message).toMatch(/abort/);
      proxy.hold(false);
      await sink.write(batchOf(3, [makeEvent({ lsn: 0x300n })]), opts);
      expect((await b.drain()).map((e) => e.id)).toContain('0/300:0');
    } finally {
      await sink.close?.();
      await proxy.close();
      await admin.deleteExchange(exchange);
    }
  });

  it('a connection blocked by a memory alarm fails the write as retriable instead of hanging', async () => {
    const exchange = unique();
    const b = await bound(exchange);
    const sink = createRabbitMqSink({ url: URL, exchange }); // default confirm timeout (30 s) is not what ends it
    await sink.write(batchOf(1, [makeEvent({ lsn: 0x100n })]), opts);
    // The machine's broker is shared: remember the watermark, keep the alarm short, always restore it.
    const watermark = rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().').trim();
    const restore = /^\{absolute,\s*(\d+)\}$/.exec(watermark);
    let err: unknown;
    try {
      rabbitmqctl('set_vm_memory_high_watermark', '0.0000001');
      err = await within(
        sink.write(batchOf(2, [makeEvent({ lsn: 0x200n })]), opts).catch((e: unknown) => e),
        15_000,
      );
    } finally {
      rabbitmqctl('set_vm_memory_high_watermark', ...(restore ? ['absolute', restore[1] as string] : [watermark]));
    }
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retriable).toBe(true);
    expect((err as SinkError).message).toMatch(/blocked/);
    // Once the alarm is gone the retry goes through.
    for (let attempt = 0; ; attempt++) {
      try {
        await sink.write(batchOf(3, [makeEvent({ lsn: 0x300n })]), opts);
        break;
      } catch (e) {
        if (attempt > 20) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect((await b.drain()).map((e) => e.id)).toContain('0/300:0');
    await sink.close?.();
    await admin.deleteExchange(exchange);
  });

  it('rejects bad options', () => {
    expect(() => createRabbitMqSink({ url: 'http://x' })).toThrow(/rabbitmq.url/);
    expect(() => createRabbitMqSink({ url: URL, routingKey: '{nope}' })).toThrow(/unknown placeholder/);
  });
});
