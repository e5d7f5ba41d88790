import { describe, expect, it } from 'vitest';
import { RetriesExhaustedError, SinkError, WalstreamError } from './errors.js';
import type { Batch } from './event.js';
import type { Sink } from './interfaces.js';
import { createPipeline } from './pipeline.js';
import type { PipelineEvent } from './pipeline-types.js';
import type { Position } from './position.js';
import {
  createArrayReader,
  createControlledSink,
  createFailingSink,
  createMemorySink,
  makeTransactions,
} from './testing/index.js';

const pos = (lsn: number, index: number): Position => ({ lsn: BigInt(lsn), index });
const fast = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 };

function nextEvent<T extends PipelineEvent['type']>(
  p: ReturnType<typeof createPipeline>,
  type: T,
): Promise<Extract<PipelineEvent, { type: T }>> {
  return new Promise((resolve) => {
    const off = p.on(type, (e) => {
      off();
      resolve(e);
    });
  });
}

describe('Pipeline commit rules', () => {
  it('delivers every event to every sink and confirms the last transaction', async () => {
    const items = makeTransactions({ transactions: 50, eventsPerTransaction: 7 });
    const reader = createArrayReader(items);
    const a = createMemorySink('a');
    const b = createMemorySink('b');
    const p = createPipeline({ name: 't', reader, sinks: [a, b], batch: { maxEvents: 16, maxWaitMs: 0 } });
    await p.start();
    await p.done;
    expect(a.events.map((e) => e.id)).toEqual(b.events.map((e) => e.id));
    expect(a.events).toHaveLength(350);
    expect(reader.acks.at(-1)).toEqual(pos(0x1000 + 49 * 0x100, 6));
    expect(reader.closed).toBe(true);
    expect(a.closed && b.closed).toBe(true);
  });

  it('confirms only what the slower of two sinks holds when they complete out of order', async () => {
    const items = makeTransactions({ transactions: 3, eventsPerTransaction: 2 });
    const reader = createArrayReader(items, { live: true });
    const fastSink = createControlledSink('fast');
    const slowSink = createControlledSink('slow');
    // maxEvents 3: the first batch is full inside the second transaction, so it ends with that transaction.
    const p = createPipeline({ name: 't', reader, sinks: [fastSink, slowSink], batch: { maxEvents: 3, maxWaitMs: 0 } });
    await p.start();

    // Fast sink writes everything it is given, quickly.
    const drainFast = (async () => {
      for (;;) {
        const w = await fastSink.nextWrite();
        w.resolve();
        if (w.batch.commits.some((c) => c.position.lsn === 0x1200n)) return;
      }
    })();
    await drainFast;
    expect(reader.acks).toEqual([]); // the slow sink holds nothing yet

    const s1 = await slowSink.nextWrite();
    s1.resolve();
    await nextEvent(p, 'committed');
    const firstCommitted = p.status().committed as Position;
    // The slow sink's first batch holds the first two transactions and their commits, not the third.
    expect(firstCommitted).toEqual(pos(0x1100, 1));
    // Every confirmation is a transaction end the slow sink holds.
    const slowHeld = slowSink.events.map((e) => e.position);
    expect(slowHeld.some((q) => q.lsn === firstCommitted.lsn && q.index === firstCommitted.index)).toBe(true);

    for (;;) {
      const w = await slowSink.nextWrite();
      w.resolve();
      if (w.batch.commits.some((c) => c.position.lsn === 0x1200n)) break;
    }
    await p.stop();
    expect(reader.acks.at(-1)).toEqual(pos(0x1200, 1));
  });

  it('does not confirm a transaction split across batches until its last part is written', async () => {
    const items = makeTransactions({ transactions: 1, eventsPerTransaction: 5 });
    const reader = createArrayReader(items, { live: true });
    const sink = createControlledSink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxEvents: 2, maxWaitMs: 0 } });
    await p.start();
    const seen: Batch[] = [];
    const w1 = await sink.nextWrite();
    seen.push(w1.batch);
    w1.resolve();
    const w2 = await sink.nextWrite();
    seen.push(w2.batch);
    w2.resolve();
    // Four of five events are durable: nothing may be confirmed.
    expect(seen.flatMap((b) => b.events)).toHaveLength(4);
    expect(seen.flatMap((b) => b.commits)).toHaveLength(0);
    expect(p.status().committed).toBeNull();
    const w3 = await sink.nextWrite();
    w3.resolve();
    await nextEvent(p, 'committed');
    expect(p.status().committed).toEqual(pos(0x1000, 4));
    await p.stop();
    expect(reader.acks).toEqual([pos(0x1000, 4)]);
  });

  it('retries a failing sink and delivers everything once it recovers', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 4, eventsPerTransaction: 3 }));
    const flaky = createFailingSink({ failures: 2 });
    const retries: number[] = [];
    const p = createPipeline({ name: 't', reader, sinks: [flaky], retry: fast, batch: { maxWaitMs: 0 } });
    p.on('retrying', (e) => retries.push(e.attempt));
    await p.start();
    await p.done;
    expect(retries).toEqual([1, 2]);
    expect(flaky.events).toHaveLength(12);
    expect(p.status().sinks[0]?.retries).toBe(2);
    expect(reader.acks.at(-1)).toEqual(pos(0x1300, 2));
  });

  it('stops with RetriesExhaustedError and never confirms past a sink that fails for good', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 6, eventsPerTransaction: 2 }), { live: true });
    const good = createMemorySink('good');
    let writes = 0;
    const breaking: Sink = {
      name: 'breaking',
      async write(batch) {
        // Takes every batch up to the one carrying the first transaction's commit, then fails on every later one.
        if (writes++ === 0 || batch.commits.some((c) => c.position.lsn === 0x1000n)) return;
        throw new SinkError('broker unavailable', { retriable: true });
      },
    };
    const p = createPipeline({
      name: 't',
      reader,
      sinks: [good, breaking],
      retry: fast,
      batch: { maxEvents: 2, maxWaitMs: 0 },
    });
    await p.start();
    const err = await p.done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(3);
    expect((err as RetriesExhaustedError).cause).toBeInstanceOf(SinkError);
    // The first transaction is confirmed (so the check below has something to check), nothing after it.
    expect(reader.acks).toEqual([pos(0x1000, 1)]);
    expect(p.status().state).toBe('failed');
    expect(reader.closed).toBe(true);
  });

  it('stops at once on a non-retriable error', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }), { live: true });
    const bad = createFailingSink({ retriable: false });
    const p = createPipeline({ name: 't', reader, sinks: [bad], retry: fast });
    await p.start();
    await expect(p.done).rejects.toBeInstanceOf(SinkError);
    expect(bad.attempts).toBe(1);
    expect(reader.acks).toEqual([]);
  });

  it('treats an unknown thrown value as not retriable', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }), { live: true });
    let attempts = 0;
    const sink: Sink = {
      name: 'throws-plain',
      async write() {
        attempts++;
        throw new TypeError('boom');
      },
    };
    const p = createPipeline({ name: 't', reader, sinks: [sink], retry: fast });
    await p.start();
    const err = await p.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalstreamError);
    expect((err as WalstreamError).retriable).toBe(false);
    expect((err as WalstreamError).cause).toBeInstanceOf(TypeError);
    expect(attempts).toBe(1);
  });

  it('routes a batch that keeps failing to the dead-letter sink and goes on', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2 }));
    const dead = createMemorySink('dlq');
    const bad = createFailingSink({ failures: Number.POSITIVE_INFINITY, name: 'bad' });
    const dlEvents: number[] = [];
    const p = createPipeline({
      name: 't',
      reader,
      sinks: [{ sink: bad, deadLetter: dead, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }],
      batch: { maxWaitMs: 0 },
    });
    p.on('dead-letter', (e) => dlEvents.push(e.events));
    await p.start();
    await p.done;
    expect(dead.events).toHaveLength(6);
    expect(dlEvents.reduce((a, b) => a + b, 0)).toBe(6);
    expect(reader.acks.at(-1)).toEqual(pos(0x1200, 1));
  });

  it('stop() during in-flight writes drains them, confirms what landed, and closes everything', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }), { live: true });
    const sink = createControlledSink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxEvents: 100, maxWaitMs: 0 } });
    await p.start();
    const w = await sink.nextWrite();
    const stopping = p.stop();
    expect(p.status().state).toBe('stopping');
    w.resolve();
    // Anything cut after the first write (the rest of the stream) drains too.
    const drain = (async () => {
      for (;;) {
        const next = await Promise.race([sink.nextWrite(), stopping.then(() => null)]);
        if (next === null) return;
        next.resolve();
      }
    })();
    await stopping;
    await drain;
    expect(p.status().state).toBe('stopped');
    expect(sink.events).toHaveLength(4);
    expect(reader.acks.at(-1)).toEqual(pos(0x1100, 1));
    expect(reader.closed).toBe(true);
  });

  it('stop() aborts a write that outlives drainTimeoutMs and confirms nothing past it', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 3 }), { live: true });
    const sink = createControlledSink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], drainTimeoutMs: 20, batch: { maxWaitMs: 0 } });
    await p.start();
    const w = await sink.nextWrite();
    const aborted = new Promise<void>((r) => w.signal.addEventListener('abort', () => r()));
    const stopped = p.stop();
    await aborted;
    w.reject(new Error('aborted'));
    await stopped;
    expect(reader.acks).toEqual([]);
    expect(sink.events).toHaveLength(0);
  });

  it('confirms a transaction whose commit marker travels alone in a batch of no events', async () => {
    // maxEvents 2 cuts each batch right after a transaction's last event, so the last commit marker goes out in a
    // batch of its own with no events (zero bytes): written by every sink, it must still be confirmed at once.
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }), { live: true });
    const sink = createMemorySink('m');
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxEvents: 2, maxWaitMs: 0 } });
    await p.start();
    for (let i = 0; i < 200 && !sink.batches.some((b) => b.events.length === 0 && b.commits.length > 0); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sink.batches.at(-1)?.events).toHaveLength(0);
    for (let i = 0; i < 200 && reader.acks.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(reader.acks.at(-1)).toEqual(pos(0x1100, 1));
    await p.stop();
  });

  it('confirms transactions whose events were all filtered out', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2 }));
    const sink = createMemorySink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], transform: () => null, batch: { maxWaitMs: 0 } });
    await p.start();
    await p.done;
    expect(sink.events).toHaveLength(0);
    expect(p.status().eventsDropped).toBe(6);
    expect(reader.acks.at(-1)).toEqual(pos(0x1200, 1));
  });

  it('treats a new commit LSN as the end of the previous transaction when the reader sends no markers', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2, commits: false }));
    const sink = createMemorySink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    await p.done;
    // The last transaction has no marker and nothing after it: it is never confirmed.
    expect(reader.acks.at(-1)).toEqual(pos(0x1100, 1));
    expect(sink.batches.flatMap((b) => b.commits).map((c) => c.eventCount)).toEqual([2, 2]);
  });
});

describe('Retry-After', () => {
  it('waits at least what the sink asked for before retrying', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }));
    let attempts = 0;
    const sink: Sink = {
      name: 'throttled',
      async write() {
        if (attempts++ === 0) throw new SinkError('slow down', { retriable: true, retryAfterMs: 40 });
      },
    };
    const delays: number[] = [];
    const p = createPipeline({ name: 't', reader, sinks: [sink], retry: { initialDelayMs: 1, maxDelayMs: 1000 } });
    p.on('retrying', (e) => delays.push(e.delayMs));
    await p.start();
    await p.done;
    expect(delays).toEqual([40]);
  });
});
