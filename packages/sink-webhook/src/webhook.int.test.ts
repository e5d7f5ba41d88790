import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type ChangeEvent,
  createPipeline,
  eventFromJsonObject,
  RetriesExhaustedError,
  SinkError,
} from '@walstream/core';
import { commitOf, createArrayReader, createMemorySink, makeEvent, makeTransactions } from '@walstream/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from './signature.js';
import { createWebhookSink } from './webhook-sink.js';

const SECRET = `whsec_${Buffer.from('a very secret key').toString('base64')}`;

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  status: number;
}

/** A receiver that answers with the queued statuses (then 200) and records everything. */
function receiver() {
  const received: Received[] = [];
  const script: { status: number; headers?: Record<string, string> }[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const next = script.shift() ?? { status: 200 };
      received.push({ headers: req.headers, body, status: next.status });
      res.writeHead(next.status, next.headers).end();
    });
  });
  return {
    received,
    script,
    server,
    url: () => `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    /** Events of every accepted (2xx) request, verified. */
    accepted(): ChangeEvent[] {
      return received
        .filter((r) => r.status < 300)
        .flatMap((r) => {
          verifyWebhook(r.body, r.headers as Record<string, string>, SECRET);
          const parsed = JSON.parse(r.body);
          return parsed.events ? parsed.events.map(eventFromJsonObject) : [eventFromJsonObject(parsed)];
        });
    },
  };
}

const rx = receiver();
beforeAll(() => new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r)));
afterAll(() => new Promise<void>((r) => rx.server.close(() => r())));

describe('webhook sink', () => {
  const fast = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 20 };

  it('retries 500 then succeeds, with the same webhook-id every time, and confirms after', async () => {
    rx.received.length = 0;
    rx.script.push({ status: 500 }, { status: 503 });
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }));
    const p = createPipeline({
      name: 'w',
      reader,
      sinks: [createWebhookSink({ url: rx.url(), secret: SECRET })],
      retry: fast,
    });
    await p.start();
    await p.done;
    const ids = rx.received.map((r) => r.headers['webhook-id']);
    // One request per transaction: the first is refused twice and retried under the same id.
    expect(rx.received.map((r) => r.status)).toEqual([500, 503, 200, 200]);
    expect(ids).toEqual(['0/1000:0..0/1000:1', '0/1000:0..0/1000:1', '0/1000:0..0/1000:1', '0/1100:0..0/1100:1']);
    expect(rx.accepted()).toHaveLength(4);
    expect(reader.acks.at(-1)?.lsn).toBe(0x1100n);
  });

  it('honours Retry-After on 429', async () => {
    rx.received.length = 0;
    rx.script.push({ status: 429, headers: { 'retry-after': '0' } });
    const delays: number[] = [];
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }));
    const p = createPipeline({
      name: 'w',
      reader,
      sinks: [createWebhookSink({ url: rx.url(), secret: SECRET })],
      retry: fast,
    });
    p.on('retrying', (e) => delays.push(e.delayMs));
    await p.start();
    await p.done;
    expect(rx.received.map((r) => r.status)).toEqual([429, 200]);
    expect(delays).toHaveLength(1);
  });

  it('treats 400 as permanent: the pipeline stops and confirms nothing past it', async () => {
    rx.received.length = 0;
    rx.script.push({ status: 400 });
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 1 }), { live: true });
    const p = createPipeline({
      name: 'w',
      reader,
      sinks: [createWebhookSink({ url: rx.url(), secret: SECRET })],
      retry: fast,
      batch: { maxEvents: 1, maxWaitMs: 0 },
    });
    await p.start();
    const err = await p.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).message).toContain('answered 400');
    expect(rx.received).toHaveLength(1);
    expect(reader.acks).toEqual([]);
  });

  it('sends a permanently refused batch to the dead-letter sink and goes on', async () => {
    rx.received.length = 0;
    rx.script.push({ status: 422 });
    const dlq = createMemorySink('dlq');
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 1 }));
    const p = createPipeline({
      name: 'w',
      reader,
      sinks: [{ sink: createWebhookSink({ url: rx.url(), secret: SECRET }), deadLetter: dlq }],
      batch: { maxEvents: 1, maxWaitMs: 0 },
    });
    await p.start();
    await p.done;
    expect(dlq.events.map((e) => e.id)).toEqual(['0/1000:0']);
    expect(rx.accepted().map((e) => e.id)).toEqual(['0/1100:0']);
    expect(reader.acks.at(-1)?.lsn).toBe(0x1100n);
  });

  it('fails with RetriesExhaustedError when the endpoint is down', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }), { live: true });
    const p = createPipeline({
      name: 'w',
      reader,
      sinks: [createWebhookSink({ url: 'http://127.0.0.1:9/unreachable', secret: SECRET })],
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    await p.start();
    const err = await p.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(reader.acks).toEqual([]);
  });

  it('refuses redirects rather than re-sending as GET', async () => {
    rx.received.length = 0;
    rx.script.push({ status: 302, headers: { location: '/elsewhere' } });
    const sink = createWebhookSink({ url: rx.url(), secret: SECRET });
    const batch = { seq: 1, events: [], commits: [], schemaChanges: [], bytes: 0 };
    await sink.write(batch, { signal: new AbortController().signal }); // nothing to send
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }), { live: true });
    const p = createPipeline({ name: 'w', reader, sinks: [sink], retry: fast });
    await p.start();
    await expect(p.done).rejects.toThrow(/answered 302/);
  });

  it('verifyWebhook rejects a tampered body, a wrong secret and an old timestamp, and accepts rotated keys', () => {
    const body = '{"a":1}';
    const now = 1_700_000_000;
    const headers = (secret: string, ts = now) => ({
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': `v1,${createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
        .update(`msg_1.${ts}.${body}`)
        .digest('base64')}`,
    });
    expect(verifyWebhook(body, headers(SECRET), SECRET, { now })).toEqual({ a: 1 });
    expect(() => verifyWebhook('{"a":2}', headers(SECRET), SECRET, { now })).toThrow(/no signature matches/);
    const other = `whsec_${Buffer.from('other').toString('base64')}`;
    expect(() => verifyWebhook(body, headers(other), SECRET, { now })).toThrow(/no signature/);
    expect(verifyWebhook(body, headers(other), [SECRET, other], { now })).toEqual({ a: 1 });
    expect(() => verifyWebhook(body, headers(SECRET, now - 1000), SECRET, { now })).toThrow(/tolerance/);
  });

  it('the webhook-id of a delivery follows the source transactions, not how batches grouped them (a restart)', async () => {
    const txn = (lsn: bigint, n: number) =>
      Array.from({ length: n }, (_, i) => makeEvent({ lsn, index: i, transactionId: String(lsn) }));
    const [t1, t2, t3] = [txn(0x100n, 3), txn(0x200n, 12), txn(0x300n, 1)] as [
      ChangeEvent[],
      ChangeEvent[],
      ChangeEvent[],
    ];
    const count = new Map([
      [0x100n, 3],
      [0x200n, 12],
      [0x300n, 1],
    ]);
    /** A batch with the commits of the listed transactions. */
    const batch = (seq: number, events: ChangeEvent[], ends: bigint[]) => ({
      seq,
      events,
      commits: ends.map((l) => commitOf(l, count.get(l) as number, String(l))),
      schemaChanges: [],
      bytes: 0,
    });
    /** webhook-id -> the event ids its request held, for every request, the batches written to a fresh sink. */
    const deliveries = async (batches: ReturnType<typeof batch>[], extra: { maxEventsPerRequest?: number } = {}) => {
      rx.received.length = 0;
      const sink = createWebhookSink({ url: rx.url(), secret: SECRET, ...extra });
      for (const b of batches) await sink.write(b, { signal: new AbortController().signal });
      await sink.close?.();
      return Object.fromEntries(
        rx.received.map((r) => [
          String(r.headers['webhook-id']),
          (JSON.parse(r.body).events as { id: string }[]).map((e) => e.id),
        ]),
      );
    };
    const ids = (evs: ChangeEvent[]) => evs.map((e) => e.id);
    // One request per source transaction, named after its first and last event, however transactions were batched.
    const whole = { '0/100:0..0/100:2': ids(t1), '0/200:0..0/200:11': ids(t2), '0/300:0': ids(t3) };
    expect(await deliveries([batch(1, [...t1, ...t2], [0x100n, 0x200n]), batch(2, t3, [0x300n])])).toEqual(whole);
    expect(await deliveries([batch(1, t1, [0x100n]), batch(2, [...t2, ...t3], [0x200n, 0x300n])])).toEqual(whole);
    // A large transaction is split at fixed event indexes (k*N), whatever else shares its batches.
    const sliced = {
      '0/100:0..0/100:2': ids(t1),
      '0/200:0..0/200:4': ids(t2.slice(0, 5)),
      '0/200:5..0/200:9': ids(t2.slice(5, 10)),
      '0/200:10..0/200:11': ids(t2.slice(10)),
      '0/300:0': ids(t3),
    };
    const five = { maxEventsPerRequest: 5 };
    expect(await deliveries([batch(1, [...t1, ...t2], [0x100n, 0x200n]), batch(2, t3, [0x300n])], five)).toEqual(
      sliced,
    );
    expect(
      await deliveries(
        [batch(1, [...t1, ...t2.slice(0, 5)], [0x100n]), batch(2, [...t2.slice(5), ...t3], [0x200n, 0x300n])],
        five,
      ),
    ).toEqual(sliced);
    // Nothing is held back across writes: a batch boundary inside a slice sends each part, named after itself.
    expect(await deliveries([batch(1, t2.slice(0, 7), []), batch(2, t2.slice(7), [0x200n])], five)).toEqual({
      '0/200:0..0/200:4': ids(t2.slice(0, 5)),
      '0/200:5..0/200:6': ids(t2.slice(5, 7)),
      '0/200:7..0/200:9': ids(t2.slice(7, 10)),
      '0/200:10..0/200:11': ids(t2.slice(10)),
    });
  });

  it('through a pipeline, a restart re-sends a large transaction under the same webhook-ids, whatever preceded it', async () => {
    // Source: T1 (3 events), T2 (1200 events), T3 (1 event). The first run reads from T1; the restart, after T1 was
    // confirmed, from T2: the pipeline's batches then start elsewhere, and a timer may fire anywhere.
    const all = [
      ...makeTransactions({ transactions: 1, eventsPerTransaction: 3, startLsn: 0x100n }),
      ...makeTransactions({ transactions: 1, eventsPerTransaction: 1200, startLsn: 0x200n }),
      ...makeTransactions({ transactions: 1, eventsPerTransaction: 1, startLsn: 0x300n }),
    ];
    const requestsFor = async (items: typeof all, maxWaitMs: number) => {
      rx.received.length = 0;
      const p = createPipeline({
        name: 'restart',
        reader: createArrayReader(items),
        sinks: [createWebhookSink({ url: rx.url(), secret: SECRET, maxEventsPerRequest: 300 })],
        batch: { maxEvents: 500, maxWaitMs },
      });
      await p.start();
      await p.done;
      return rx.received
        .map((r) => String(r.headers['webhook-id']))
        .filter((id) => id.startsWith('0/200:'))
        .sort();
    };
    const first = await requestsFor(all, 100);
    const restart = await requestsFor(all.slice(4), 0);
    expect(restart).toEqual(first);
    expect(first).toContain('0/200:0..0/200:299');
  });

  it('rejects bad options', () => {
    expect(() => createWebhookSink({ url: 'ftp://x', secret: 's' })).toThrow(/webhook.url/);
    expect(() => createWebhookSink({ url: 'http://x', secret: '' })).toThrow(/webhook.secret/);
    // fetch refuses URLs with credentials on every request; refused here, without echoing them.
    expect(() => createWebhookSink({ url: 'https://bot:S3cret@hooks.example/x', secret: SECRET })).toThrow(
      /^(?!.*S3cret).*webhook\.url.*credentials/,
    );
  });
});
