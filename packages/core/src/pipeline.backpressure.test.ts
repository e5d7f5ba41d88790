import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { createPipeline, NewPipeline } from './pipeline.js';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, DefaultPipelineConfig, resolvePipelineOptions } from './pipeline-config.js';
import { estimateEventBytes } from './size.js';
import {
  createArrayReader,
  createControlledSink,
  createMemorySink,
  makeEvent,
  makeTransactions,
} from './testing/index.js';

describe('Pipeline backpressure', () => {
  it('pauses the reader while a stalled sink holds the byte budget, then resumes', async () => {
    const row = (n: number) => ({ id: n, payload: 'p'.repeat(200) });
    const items = makeTransactions({ transactions: 2000, eventsPerTransaction: 5, row });
    const eventBytes = estimateEventBytes(makeEvent({ after: row(1), key: { id: 1 } }));
    const budget = 64 * 1024;
    const reader = createArrayReader(items);
    const sink = createControlledSink();
    const p = createPipeline({
      name: 'bp',
      reader,
      sinks: [sink],
      maxInFlightBytes: budget,
      batch: { maxEvents: 50, maxBytes: 16 * 1024, maxWaitMs: 0 },
    });
    const paused = new Promise<void>((r) => p.on('backpressure', (e) => e.active && r()));
    let maxInFlight = 0;
    p.on('backpressure', (e) => {
      maxInFlight = Math.max(maxInFlight, e.inFlightBytes);
    });
    await p.start();
    await paused;
    // The sink has not completed a single write: the reader must be stopped near the budget.
    const pulledWhilePaused = reader.pulled;
    const status = p.status();
    expect(status.backpressure).toBe(true);
    // Over the budget by the rest of the source transaction at most: a batch ends where a restart would end it.
    expect(status.inFlightBytes).toBeLessThan(budget + eventBytes * 6);
    expect(maxInFlight).toBeLessThan(budget + eventBytes * 6);
    expect(pulledWhilePaused).toBeLessThan(items.length / 10);
    expect(pulledWhilePaused).toBeLessThan(((budget / eventBytes) * 6) / 5 + 10); // events + commit markers

    // Another turn of the event loop changes nothing while the sink is stalled.
    await new Promise((r) => setImmediate(r));
    expect(reader.pulled).toBe(pulledWhilePaused);
    expect(p.status().sinks[0]?.state).toBe('writing');

    // Release the sink: everything flows, memory stays within budget throughout.
    let peak = 0;
    const drain = (async () => {
      while (sink.events.length < 10_000) {
        const w = await sink.nextWrite();
        peak = Math.max(peak, p.status().inFlightBytes);
        w.resolve();
      }
    })();
    await drain;
    await p.done;
    expect(sink.events).toHaveLength(10_000);
    expect(peak).toBeLessThan(budget + eventBytes * 6);
    expect(reader.acks.at(-1)?.lsn).toBe(0x1000n + 1999n * 0x100n);
  });
});

describe('Pipeline options', () => {
  const reader = () => createArrayReader([]);
  const sinks = [createMemorySink()];

  it.each([
    [{ batch: { maxEvents: 0 } }, 'batch.maxEvents'],
    [{ batch: { maxWaitMs: -1 } }, 'batch.maxWaitMs'],
    [{ retry: { maxAttempts: 1.5 } }, 'retry.maxAttempts'],
    [{ maxInFlightBytes: 10, batch: { maxBytes: 100 } }, 'batch.maxBytes'],
    [{ name: '' }, 'name'],
    [{ sinks: [] }, 'sinks'],
    [{ sinks: [{ write: 1 }] }, 'sinks.0'],
    [{ reader: {} }, 'reader'],
    [{ batchSize: 3 }, 'options'],
  ])('rejects %j with a ConfigError naming %s', (bad, field) => {
    const make = () => createPipeline({ name: 'x', reader: reader(), sinks, ...(bad as object) });
    expect(make).toThrow(ConfigError);
    try {
      make();
    } catch (err) {
      expect((err as ConfigError).field).toBe(field);
      expect((err as ConfigError).code).toBe('CONFIG');
    }
  });

  it('defaults the in-flight budget to 1 MiB (two default batches), or two batches when batch.maxBytes is larger', () => {
    const budget = (o: object) => resolvePipelineOptions({ name: 'x', reader: reader(), sinks, ...o }).maxInFlightBytes;
    expect(budget({})).toBe(DEFAULT_MAX_IN_FLIGHT_BYTES);
    expect(DEFAULT_MAX_IN_FLIGHT_BYTES).toBe(1 << 20);
    expect(budget({ batch: { maxBytes: 1 << 20 } })).toBe(2 << 20);
    expect(budget({ batch: { maxBytes: 4 << 20 } })).toBe(8 << 20);
    expect(budget({ batch: { maxBytes: 4 << 20 }, maxInFlightBytes: 5 << 20 })).toBe(5 << 20);
  });

  it('rejects two sinks with the same name', () => {
    expect(() =>
      createPipeline({ name: 'x', reader: reader(), sinks: [createMemorySink('a'), createMemorySink('a')] }),
    ).toThrow(/duplicate sink name/);
  });

  it('builds the same pipeline from the positional form', async () => {
    const r = createArrayReader(makeTransactions({ transactions: 2, eventsPerTransaction: 2 }));
    const s = createMemorySink();
    const p = NewPipeline('positional', r, [s], DefaultPipelineConfig());
    expect(p.name).toBe('positional');
    await p.start();
    await p.done;
    expect(s.events).toHaveLength(4);
  });

  it('stops when its AbortSignal aborts, and via Symbol.asyncDispose', async () => {
    const ac = new AbortController();
    const r = createArrayReader(makeTransactions({ transactions: 1, eventsPerTransaction: 1 }), { live: true });
    const p = createPipeline({ name: 'sig', reader: r, sinks: [createMemorySink()], signal: ac.signal });
    await p.start();
    ac.abort();
    await p.done;
    expect(p.status().state).toBe('stopped');

    const r2 = createArrayReader([], { live: true });
    {
      await using p2 = createPipeline({ name: 'disp', reader: r2, sinks: [createMemorySink()] });
      await p2.start();
    }
    expect(r2.closed).toBe(true);
  });

  it('stop() during a slow start waits for the start, then stops cleanly (and resolves if the start fails)', async () => {
    for (const outcome of ['opens', 'fails'] as const) {
      let release!: () => void;
      const opened = new Promise<void>((r) => {
        release = r;
      });
      const r = createArrayReader([], { live: true });
      const slow = {
        ...createMemorySink('slow'),
        open: () => opened.then(() => (outcome === 'fails' ? Promise.reject(new Error('no route')) : undefined)),
      };
      const p = createPipeline({ name: 'x', reader: r, sinks: [slow] });
      const started = p.start().catch((e: unknown) => e);
      const stopped = p.stop();
      expect(p.status().state).toBe('starting');
      release();
      await stopped;
      expect(p.status().state).toBe(outcome === 'opens' ? 'stopped' : 'failed');
      expect(r.closed).toBe(true);
      expect(await started).toEqual(outcome === 'opens' ? undefined : expect.any(Error));
    }
  });

  it('rejects start() and cleans up when a sink cannot open', async () => {
    const r = createArrayReader([]);
    const ok = createMemorySink('ok');
    const broken = { name: 'broken', open: async () => Promise.reject(new Error('no route')), write: async () => {} };
    const p = createPipeline({ name: 'x', reader: r, sinks: [ok, broken] });
    await expect(p.start()).rejects.toThrow(/no route/);
    await expect(p.done).rejects.toThrow(/no route/);
    expect(ok.closed).toBe(true);
    expect(r.closed).toBe(true);
    await p.stop(); // harmless after a failed start
  });
});

describe('Pipeline and the event loop', () => {
  it('gives timers a turn while a reader with everything queued is read into a sink that never waits', async () => {
    // Every next() and every write resolves in a microtask: without a turn now and then, reading would hold the
    // event loop until the reader ran dry (timers, sockets and acks waiting all along).
    const items = makeTransactions({ transactions: 60_000, eventsPerTransaction: 10, row: (n) => ({ id: n }) });
    const reader = createArrayReader(items);
    const sink = createMemorySink();
    const p = createPipeline({ name: 'turns', reader, sinks: [sink] });
    let pulledAtFirstTimer = -1;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        pulledAtFirstTimer = reader.pulled;
        resolve();
      }, 0),
    );
    await p.start();
    await timer;
    await p.done;
    expect(reader.pulled).toBe(items.length);
    // The timer ran while most of the reader was still to be read.
    expect(pulledAtFirstTimer).toBeLessThan(items.length / 2);
  });
});
