import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SinkError, WalstreamError } from './errors.js';
import type { ReaderItem, TransactionCommit } from './event.js';
import type { LogReader, Sink } from './interfaces.js';
import { createPipeline } from './pipeline.js';
import type { Position } from './position.js';
import {
  commitOf,
  createArrayReader,
  createMemorySink,
  createSlowSink,
  makeEvent,
  makeTransactions,
} from './testing/index.js';

/** Settles with the outcome of `done`, or 'hung' if it did not settle within `ms`. */
async function outcome(done: Promise<void>, ms = 15_000): Promise<'resolved' | 'hung' | { error: unknown }> {
  let t: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    t = setTimeout(() => r('hung'), ms);
  });
  try {
    return await Promise.race([
      done.then(
        () => 'resolved' as const,
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(t);
  }
}

describe('the pipeline never hangs', { timeout: 30_000 }, () => {
  it('a reader whose read() throws synchronously fails the pipeline with a READER error and is closed', async () => {
    let closed = false;
    const reader: LogReader = {
      read() {
        throw new Error('read exploded');
      },
      async ack() {},
      async close() {
        closed = true;
      },
    };
    const sink = createMemorySink();
    const p = createPipeline({ name: 't', reader, sinks: [sink], drainTimeoutMs: 200 });
    await p.start();
    const r = await outcome(p.done);
    expect(r).toMatchObject({ error: { code: ErrorCode.Reader } });
    expect((r as { error: unknown }).error).toBeInstanceOf(WalstreamError);
    expect(closed).toBe(true);
    expect(sink.closed).toBe(true);
  });

  it('a sink whose close() throws synchronously still lets done settle, with a typed error, and closes the reader', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }));
    const inner = createMemorySink('bad-close');
    const sink: Sink = {
      name: 'bad-close',
      write: (b, o) => inner.write(b, o),
      close() {
        throw new Error('close exploded');
      },
    };
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxWaitMs: 0 }, drainTimeoutMs: 200 });
    await p.start();
    const r = await outcome(p.done);
    expect(r).toMatchObject({ error: { code: ErrorCode.Sink } });
    expect((r as { error: Error }).error.message).toMatch(/bad-close close failed/);
    expect(reader.closed).toBe(true);
    expect(inner.events).toHaveLength(4);
  });

  it('a sink that ignores its abort signal after the drain timeout still lets stop() and done settle', async () => {
    const reader = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 2 }), { live: true });
    let writing!: () => void;
    const started = new Promise<void>((r) => {
      writing = r;
    });
    const sink: Sink = {
      name: 'deaf',
      write() {
        writing();
        return new Promise<void>(() => {}); // never settles, ignores the signal
      },
    };
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxWaitMs: 0 }, drainTimeoutMs: 100 });
    await p.start();
    await started;
    const stopped = await outcome(p.stop());
    expect(stopped).toBe('resolved');
    const r = await outcome(p.done);
    expect(r).toMatchObject({ error: { code: ErrorCode.Sink } });
    expect((r as { error: Error }).error.message).toMatch(/deaf ignored its abort signal/);
    expect(reader.closed).toBe(true);
    expect(reader.acks).toEqual([]);
  });

  it('a reader whose close() hangs does not keep done from settling', async () => {
    const inner = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }));
    const reader: LogReader = {
      read: (o) => inner.read(o),
      ack: (pos) => inner.ack(pos),
      close: () => new Promise<void>(() => {}),
    };
    const p = createPipeline({ name: 't', reader, sinks: [createMemorySink()], drainTimeoutMs: 100 });
    await p.start();
    expect(await outcome(p.done)).toBe('resolved');
  });
});

describe('implicit transaction ends', () => {
  it('an event at a lower LSN (a replaying reader) never ends the open transaction', async () => {
    const at = (lsn: number, index: number) => makeEvent({ lsn: BigInt(lsn), index, transactionId: String(lsn) });
    // No commit markers: 0x300 is open when the reader replays 0x200, then 0x300 continues, then 0x400 starts.
    const items: ReaderItem[] = [
      at(0x200, 0),
      at(0x300, 0),
      at(0x300, 1),
      at(0x200, 0),
      at(0x300, 0),
      at(0x300, 1),
      at(0x300, 2),
      at(0x400, 0),
    ];
    const reader = createArrayReader(items);
    const p = createPipeline({
      name: 't',
      reader,
      sinks: [createMemorySink()],
      batch: { maxEvents: 1, maxWaitMs: 0 },
    });
    await p.start();
    await p.done;
    const confirmed: Position[] = reader.acks;
    expect(confirmed.length).toBeGreaterThan(0);
    // Only whole transactions: 0x200:0, or 0x300 up to its last event (index 2).
    for (const a of confirmed) expect(['200:0', '300:2']).toContain(`${a.lsn.toString(16)}:${a.index}`);
    expect(confirmed.at(-1)).toEqual({ lsn: 0x300n, index: 2 });
  });
});

describe('dead letters', () => {
  it('retries the dead-letter write like a sink write, counts dead-lettered events and moves past the batch', async () => {
    const reader = createArrayReader([
      ...makeTransactions({ transactions: 2, eventsPerTransaction: 2 }),
      makeEvent({ lsn: 0x1200n, index: 0 }),
      commitOf(0x1200n, 1),
    ]);
    const bad: Sink = {
      name: 'bad',
      async write() {
        throw new SinkError('rejected', { retriable: false });
      },
    };
    const dlq = createMemorySink('dlq');
    let dlqAttempts = 0;
    const flakyDlq: Sink = {
      name: 'dlq',
      async write(b, o) {
        // The dead-letter destination has a blip of its own: two failures per batch, then it takes it.
        if (dlqAttempts++ % 3 < 2) throw new SinkError('dlq blip', { retriable: true });
        await dlq.write(b, o);
      },
    };
    const p = createPipeline({
      name: 't',
      reader,
      sinks: [{ sink: bad, deadLetter: flakyDlq, retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2 } }],
      batch: { maxWaitMs: 0 },
    });
    await p.start();
    await p.done;
    expect(dlq.events).toHaveLength(5);
    expect(p.status().sinks[0]?.deadLettered).toBe(5);
    // A dead-lettered batch counts as delivered: the position moves past it.
    expect(reader.acks.at(-1)).toEqual({ lsn: 0x1200n, index: 0 });
  });
});

describe('abort listeners do not pile up (no MaxListenersExceededWarning)', () => {
  it('a slow sink over many writes and pipelines sharing one user signal leave no listeners behind', async () => {
    const shared = new AbortController();
    let maxOnWriteSignal = 0;
    for (let run = 0; run < 12; run++) {
      const inner = createSlowSink(1);
      const sink: Sink = {
        name: 'slow',
        async write(b, o) {
          await inner.write(b, o);
          maxOnWriteSignal = Math.max(maxOnWriteSignal, getEventListeners(o.signal, 'abort').length);
        },
      };
      const p = createPipeline({
        name: `t${run}`,
        reader: createArrayReader(makeTransactions({ transactions: 15, eventsPerTransaction: 1 })),
        sinks: [sink],
        batch: { maxEvents: 1, maxWaitMs: 0 },
        signal: shared.signal,
      });
      await p.start();
      await p.done;
    }
    expect(maxOnWriteSignal).toBeLessThanOrEqual(1);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('a sink that leaves a listener on every write signal (as fetch can) does not pile them onto the pipeline signal', async () => {
    let pipelineSignal: AbortSignal | undefined;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const sink: Sink = {
      name: 'leaky',
      async open(ctx) {
        pipelineSignal = ctx.signal;
      },
      async write(_b, o) {
        o.signal.addEventListener('abort', () => {}); // never removed
      },
    };
    try {
      const p = createPipeline({
        name: 't',
        reader: createArrayReader(makeTransactions({ transactions: 30, eventsPerTransaction: 1 })),
        sinks: [sink],
        batch: { maxEvents: 1, maxWaitMs: 0 },
      });
      await p.start();
      await p.done;
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(getEventListeners(pipelineSignal as AbortSignal, 'abort').length).toBeLessThanOrEqual(1);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

describe('a graceful stop ends at a transaction boundary', () => {
  function gatedReader(items: ReaderItem[], gateAfter: number, commitMarkers = false) {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const acks: Position[] = [];
    const reader: LogReader = {
      commitMarkers,
      async *read({ signal } = {}) {
        const aborted = new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true }));
        for (let i = 0; i < items.length; i++) {
          if (i === gateAfter) await Promise.race([gate, aborted]);
          if (signal?.aborted) return;
          yield items[i] as ReaderItem;
        }
        await aborted;
      },
      async ack(p) {
        acks.push(p);
      },
      async close() {},
    };
    return { reader, acks, release };
  }

  it('finishes the source transaction being read, so a restart starts after it (no duplicates)', async () => {
    const items = makeTransactions({ transactions: 2, eventsPerTransaction: 2 });
    // The second transaction's first event arrives, then the rest waits: stop() lands mid-transaction.
    const { reader, acks, release } = gatedReader(items, 4);
    const sink = createMemorySink('m');
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxEvents: 1, maxWaitMs: 0 } });
    await p.start();
    for (let i = 0; i < 200 && sink.events.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sink.events).toHaveLength(3);
    const stopped = p.stop();
    setTimeout(release, 30);
    await stopped;
    expect(sink.events.map((e) => e.position.index)).toEqual([0, 1, 0, 1]);
    expect(acks.at(-1)).toEqual((items[5] as TransactionCommit).position);
  });

  it('keeps the first transaction after a start whole when the reader declares commit markers', async () => {
    const items = makeTransactions({ transactions: 1, eventsPerTransaction: 3 });
    // Two events arrive, then the rest waits while the batch timer (0 ms) fires again and again.
    const { reader, release } = gatedReader(items, 2, true);
    const sink = createMemorySink('m');
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    for (let i = 0; i < 200 && p.status().eventsIn < 2; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.batches).toHaveLength(0); // not cut before its commit: a restart cuts it the same way
    release();
    for (let i = 0; i < 200 && sink.batches.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await p.stop();
    expect(sink.batches.map((b) => [b.events.length, b.commits.length])).toEqual([[3, 1]]);
  });

  it('a stop during the first transaction after a start finishes it when the reader declares commit markers', async () => {
    const items = makeTransactions({ transactions: 1, eventsPerTransaction: 3 });
    const { reader, acks, release } = gatedReader(items, 1, true);
    const sink = createMemorySink('m');
    const p = createPipeline({ name: 't', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    for (let i = 0; i < 200 && p.status().eventsIn < 1; i++) await new Promise((r) => setTimeout(r, 5));
    const stopped = p.stop();
    setTimeout(release, 30);
    await stopped;
    expect(sink.events.map((e) => e.position.index)).toEqual([0, 1, 2]);
    expect(acks.at(-1)).toEqual((items[3] as TransactionCommit).position);
  });

  it('stops at once between transactions, and still stops when a transaction never ends', async () => {
    const items = makeTransactions({ transactions: 2, eventsPerTransaction: 2 });
    const between = gatedReader(items, 3); // the first transaction is complete, the second not begun
    const a = createPipeline({
      name: 't',
      reader: between.reader,
      sinks: [createMemorySink('a')],
      batch: { maxWaitMs: 0 },
    });
    await a.start();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    const never = gatedReader(items, 4); // the gate is never released
    const b = createPipeline({
      name: 't',
      reader: never.reader,
      sinks: [createMemorySink('b')],
      batch: { maxWaitMs: 0 },
      drainTimeoutMs: 200,
    });
    await b.start();
    await new Promise((r) => setTimeout(r, 20));
    await b.stop();
    expect(never.acks.at(-1)).toEqual((items[2] as TransactionCommit).position);
  });

  it('hands no sink the unfinished part of a transaction that never ends (a restart sends it again)', async () => {
    const items = makeTransactions({ transactions: 2, eventsPerTransaction: 3 });
    const never = gatedReader(items, 6); // the second transaction's first two events arrive, then nothing
    const sink = createMemorySink('m');
    const p = createPipeline({
      name: 't',
      reader: never.reader,
      sinks: [sink],
      batch: { maxWaitMs: 0 },
      drainTimeoutMs: 200,
    });
    await p.start();
    for (let i = 0; i < 200 && p.status().eventsIn < 5; i++) await new Promise((r) => setTimeout(r, 5));
    await p.stop();
    expect(sink.events.map((e) => e.id)).toEqual(['0/1000:0', '0/1000:1', '0/1000:2']);
    expect(never.acks.at(-1)).toEqual((items[3] as TransactionCommit).position);
    expect(p.status().inFlightBytes).toBe(0);
  });
});

describe('the source start reaches the sinks before they decide', () => {
  it('prepares the reader before opening the sinks, hands them what it found, and opens the reader after them', async () => {
    const order: string[] = [];
    let start: { slotCreated: boolean } | null = null;
    const reader = Object.assign(createArrayReader([]), {
      sourceStart: null as { slotCreated: boolean } | null,
      async prepare() {
        order.push('prepare');
        reader.sourceStart = { slotCreated: true };
      },
      async open() {
        order.push('open');
      },
    });
    const sink: Sink = {
      name: 's',
      async open(ctx) {
        order.push('sink open');
        start = ctx.source?.() ?? null;
      },
      async write() {},
    };
    const p = createPipeline({ name: 't', reader, sinks: [sink], drainTimeoutMs: 200 });
    await p.start();
    await p.stop();
    expect(order).toEqual(['prepare', 'sink open', 'open']);
    expect(start).toEqual({ slotCreated: true });
  });

  it('a sink that refuses the source start fails start(), the reader is closed and never opened', async () => {
    let opened = false;
    let closed = false;
    const reader = Object.assign(createArrayReader([]), {
      sourceStart: { slotCreated: true },
      async prepare() {},
      async open() {
        opened = true;
      },
      async close() {
        closed = true;
      },
    });
    const sink: Sink = {
      name: 's',
      async open(ctx) {
        if (ctx.source?.()?.slotCreated) throw new SinkError('fresh slot over a checkpoint');
      },
      async write() {},
    };
    const p = createPipeline({ name: 't', reader, sinks: [sink], drainTimeoutMs: 200 });
    await expect(p.start()).rejects.toThrow(/fresh slot over a checkpoint/);
    expect(opened).toBe(false);
    expect(closed).toBe(true);
    expect(p.status().state).toBe('failed');
  });
});
