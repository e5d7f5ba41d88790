import { describe, expect, it } from 'vitest';
import { SinkError } from './errors.js';
import type { Batch } from './event.js';
import { createPipeline } from './pipeline.js';
import type { Position } from './position.js';
import { SinkWorker } from './sink-worker.js';
import {
  batchOf,
  type ControlledSink,
  createArrayReader,
  createControlledSink,
  makeEvent,
  makeTransactions,
} from './testing/index.js';

const fast = { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2, multiplier: 2 };
const tick = () => new Promise((r) => setTimeout(r, 5));

function concurrent(n: number): ControlledSink {
  return Object.assign(createControlledSink('c'), { concurrentWrites: n });
}

function worker(sink: ControlledSink) {
  const written: number[] = [];
  const retried: number[] = [];
  const w = new SinkWorker(0, sink, undefined, fast, new AbortController().signal, {
    written: (_w, b) => written.push(b.seq),
    retrying: (_w, attempt) => retried.push(attempt),
    deadLettered: () => {},
    failed: () => {},
  });
  return { w, written, retried };
}

const batch = (seq: number): Batch => batchOf(seq, [makeEvent({ lsn: BigInt(0x1000 + seq * 0x100), index: 0 })]);
const pendingSeqs = (s: ControlledSink) => s.pending.map((p) => p.batch.seq);
/** The next write of batch `seq` still under way (earlier arrivals already handled are skipped). */
async function nextWriteOf(s: ControlledSink, seq: number): Promise<ControlledSink['pending'][0]> {
  for (;;) {
    const next = await s.nextWrite();
    if (next.batch.seq === seq && s.pending.includes(next)) return next;
  }
}

const write = (s: ControlledSink, seq: number) =>
  s.pending.find((p) => p.batch.seq === seq) as ControlledSink['pending'][0];

describe('SinkWorker with concurrent writes', () => {
  it('keeps up to concurrentWrites writes under way and counts them in batch order when they resolve out of order', async () => {
    const sink = concurrent(3);
    const { w, written } = worker(sink);
    for (let i = 1; i <= 5; i++) w.enqueue(batch(i));
    expect(pendingSeqs(sink)).toEqual([1, 2, 3]);
    write(sink, 3).resolve();
    write(sink, 2).resolve();
    await tick();
    expect(written).toEqual([]); // 1 has not resolved: nothing counts
    expect(pendingSeqs(sink)).toEqual([1]); // and nothing new starts past the window of 3 from batch 1
    write(sink, 1).resolve();
    await tick();
    expect(written).toEqual([1, 2, 3]);
    expect(pendingSeqs(sink)).toEqual([4, 5]);
    write(sink, 5).resolve();
    write(sink, 4).resolve();
    await w.idle();
    expect(written).toEqual([1, 2, 3, 4, 5]);
    expect(sink.batches.map((b) => b.seq)).toEqual([3, 2, 1, 5, 4]); // the order they resolved in
  });

  it('after a failure starts nothing new until every write under way settled, then retries the failed batches oldest first', async () => {
    const sink = concurrent(3);
    const { w, written, retried } = worker(sink);
    for (let i = 1; i <= 5; i++) w.enqueue(batch(i));
    write(sink, 2).reject(new SinkError('broker hiccup', { retriable: true }));
    write(sink, 3).reject(new SinkError('broker hiccup', { retriable: true }));
    await tick();
    expect(pendingSeqs(sink)).toEqual([1]); // 4 and 5 wait
    write(sink, 1).resolve();
    await tick();
    expect(written).toEqual([1]);
    // The retry of 2 comes alone; 3 is not retried before 2 holds.
    const r2 = await nextWriteOf(sink, 2);
    await tick();
    expect(pendingSeqs(sink)).toEqual([2]);
    r2.resolve();
    await tick();
    expect(written).toEqual([1, 2]);
    expect(pendingSeqs(sink)).toEqual([3]);
    write(sink, 3).resolve();
    await tick();
    expect(written).toEqual([1, 2, 3]);
    expect(pendingSeqs(sink)).toEqual([4, 5]); // concurrent again
    write(sink, 4).resolve();
    write(sink, 5).resolve();
    await w.idle();
    expect(written).toEqual([1, 2, 3, 4, 5]);
    expect(retried).toEqual([1, 1]);
  });

  it('a later batch that resolved while an earlier one failed counts only after the earlier one is retried, and is not written again', async () => {
    const sink = concurrent(2);
    const { w, written } = worker(sink);
    w.enqueue(batch(1));
    w.enqueue(batch(2));
    write(sink, 2).resolve();
    write(sink, 1).reject(new SinkError('timeout', { retriable: true }));
    const retry = await nextWriteOf(sink, 1);
    expect(written).toEqual([]);
    retry.resolve();
    await w.idle();
    expect(written).toEqual([1, 2]);
    expect(sink.batches.map((b) => b.seq)).toEqual([2, 1]);
  });
});

describe('Pipeline commit rule with concurrent writes', () => {
  it('never confirms past a batch that has not resolved, whatever order the writes resolve and fail in', async () => {
    const items = makeTransactions({ transactions: 40, eventsPerTransaction: 3 });
    const reader = createArrayReader(items);
    const sink = concurrent(4);
    const p = createPipeline({
      name: 'c',
      reader,
      sinks: [sink],
      batch: { maxEvents: 6, maxWaitMs: 0 },
      retry: fast,
    });
    const resolvedSeqs = new Set<number>();
    const committed: Position[] = [];
    const violations: string[] = [];
    const lastLsnOf = new Map<number, bigint>();
    p.on('committed', (e) => {
      committed.push(e.position);
      // Every batch up to the one carrying this position must have resolved.
      for (const [seq, lsn] of lastLsnOf) {
        if (lsn <= e.position.lsn && !resolvedSeqs.has(seq)) violations.push(`seq ${seq} at ${e.position.lsn}`);
      }
    });
    await p.start();
    let round = 0;
    let failedOnce = false;
    let finished = false;
    p.done.finally(() => {
      finished = true;
    });
    while (!finished) {
      await tick();
      const pending = [...sink.pending];
      for (const w of pending) {
        const last = w.batch.commits.at(-1);
        if (last) lastLsnOf.set(w.batch.seq, last.position.lsn);
      }
      // Resolve newest first; fail the oldest once.
      pending.sort((a, b) => b.batch.seq - a.batch.seq);
      for (const w of pending) {
        if (!failedOnce && w === pending.at(-1) && pending.length > 1) {
          failedOnce = true;
          w.reject(new SinkError('partial', { retriable: true }));
          continue;
        }
        resolvedSeqs.add(w.batch.seq);
        w.resolve();
      }
      if (++round > 2000) throw new Error('stuck');
    }
    await p.done;
    expect(failedOnce).toBe(true);
    expect(violations).toEqual([]);
    expect(committed.length).toBeGreaterThan(3);
    expect(reader.acks.at(-1)?.lsn).toBe(0x1000n + 39n * 0x100n);
    expect(new Set(sink.events.map((e) => e.id)).size).toBe(120);
  });
});
