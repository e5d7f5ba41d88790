import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';
import type { Batch, ChangeEvent, ReaderItem } from './event.js';
import { commitOf, makeEvent } from './testing/index.js';

const txn = (lsn: bigint, n: number): ReaderItem[] => [
  ...Array.from({ length: n }, (_, i) => makeEvent({ lsn, index: i })),
  commitOf(lsn, n, String(lsn)),
];

/** Feeds the items (calling `cut()`, as the batch timer does, before each index in `timerAt`) and returns the batches. */
function run(items: ReaderItem[], timerAt: number[] = [], maxEvents = 5): Batch[] {
  const batches: Batch[] = [];
  const b = new Batcher({ batch: { maxEvents, maxBytes: 1 << 20, maxWaitMs: 60_000 }, transform: undefined }, (x) =>
    batches.push(x),
  );
  items.forEach((item, i) => {
    if (timerAt.includes(i)) b.cut();
    b.accept(item);
  });
  b.flush();
  b.clearTimer();
  return batches;
}

/** For each batch, the ids of the events of the transaction at `lsn` it holds (batches without any left out). */
function partsOf(batches: Batch[], lsn: bigint): string[][] {
  return batches
    .map((b) => b.events.filter((e: ChangeEvent) => e.position.lsn === lsn).map((e) => e.id))
    .filter((ids) => ids.length > 0);
}

describe('Batcher: where a source transaction is cut does not depend on what came before it or on timing', () => {
  const t1 = txn(0x100n, 3);
  const t2 = txn(0x200n, 12);
  const t3 = txn(0x300n, 1);
  const slices = [
    ['0/200:0', '0/200:1', '0/200:2', '0/200:3', '0/200:4'],
    ['0/200:5', '0/200:6', '0/200:7', '0/200:8', '0/200:9'],
    ['0/200:10', '0/200:11'],
  ];

  it('cuts a large transaction at index k * maxEvents, after a restart that no longer reads the one before it too', () => {
    // First run: T1 shares a batch with the start of T2. After a restart from T1's commit, T2 comes first.
    expect(partsOf(run([...t1, ...t2, ...t3]), 0x200n)).toEqual(slices);
    expect(partsOf(run([...t2, ...t3]), 0x200n)).toEqual(slices);
  });

  it('a batch due by time inside a slice waits for the slice to end', () => {
    // The timer fires after the 3rd and the 9th event of T2 (items 3 + 2 and 3 + 8).
    expect(partsOf(run([...t1, ...t2, ...t3], [5, 11]), 0x200n)).toEqual(slices);
    // Between transactions it cuts at once.
    const batches = run([...t1, ...t2, ...t3], [4]);
    expect(batches[0]?.events.map((e) => e.id)).toEqual(['0/100:0', '0/100:1', '0/100:2']);
  });

  it('keeps small transactions whole however they are grouped', () => {
    const small = [txn(0x100n, 3), txn(0x200n, 4), txn(0x300n, 2), txn(0x400n, 4)].flat();
    for (const lsn of [0x100n, 0x200n, 0x300n, 0x400n]) expect(partsOf(run(small), lsn)).toHaveLength(1);
  });

  it('without commit markers (third-party readers) a full batch is still cut at once', () => {
    const noCommits = [...t1, ...t2].filter((i) => (i as { kind?: string }).kind === undefined);
    expect(run(noCommits).map((b) => b.events.length)).toEqual([5, 5, 5]);
  });
});

describe('Batcher: a commit left alone after a full batch', () => {
  const batcher = (out: Batch[]) =>
    new Batcher(
      { batch: { maxEvents: 5, maxBytes: 1 << 20, maxWaitMs: 60_000 }, transform: undefined },
      (x) => out.push(x),
      true,
    );

  it('is handed out on the next turn of the event loop, not after maxWaitMs (nothing is left to wait for)', async () => {
    const out: Batch[] = [];
    const b = batcher(out);
    for (const item of txn(0x100n, 5)) b.accept(item);
    expect(out.map((x) => [x.events.length, x.commits.length])).toEqual([[5, 0]]);
    await new Promise((r) => setImmediate(r));
    expect(out.map((x) => [x.events.length, x.commits.length])).toEqual([
      [5, 0],
      [0, 1],
    ]);
    b.clearTimer();
  });

  it('rides with the next events when they come in the same turn (no extra batch while reading)', async () => {
    const out: Batch[] = [];
    const b = batcher(out);
    for (const item of [...txn(0x100n, 5), ...txn(0x200n, 3)]) b.accept(item);
    await new Promise((r) => setImmediate(r));
    b.flush();
    b.clearTimer();
    expect(out.map((x) => [x.events.length, x.commits.length])).toEqual([
      [5, 0],
      [3, 2],
    ]);
  });
});
