/**
 * The sink contract: what every sink promises, run by each sink package against itself.
 *
 * ```ts
 * describeSinkContract('file', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'walstream-file-'));
 *   const path = join(dir, 'changes.jsonl');
 *   return {
 *     sink: createFileSink({ path }),
 *     readBack: async () => readEvents('jsonl', 'events', await readFile(path)),
 *     reopen: async () => createFileSink({ path }),
 *     cleanup: () => rm(dir, { recursive: true, force: true }),
 *     faults: { failNextWritePartway: () => { ... }, breakOpen: async () => { ...; return heal; } },
 *   };
 * }, { idempotent: true });
 * ```
 *
 * Cases: ordered delivery, exact values, empty batches, a write that fails partway and is retried with the same
 * batch, a transaction split across two batches (its second part failing partway too), abort during a write,
 * write after close (a `SINK_CLOSED` error), re-open after a failed open, replay of batches already written (on the
 * same sink and, for idempotent sinks, after a restart).
 *
 * Delivery is checked by event id. An idempotent sink must hold every event exactly once, in order. Any other sink
 * must hold every event at least once, nothing else, and the first occurrences in order (duplicates only come
 * from a retry or a replay).
 */
import { describe, expect, it } from 'vitest';
import { encodeEventJson } from '../codec-json.js';
import { ErrorCode } from '../errors.js';
import type { Batch, ChangeEvent } from '../event.js';
import { RawJson } from '../event.js';
import type { Sink, SinkContext } from '../interfaces.js';
import { silentLogger } from '../logger.js';
import { commitOf, makeEvent } from './fixtures.js';

/**
 * Faults the harness can cause in its own sink or destination. Each one the harness supplies turns the matching
 * case into a real fault; without it the suite falls back to a simulation, described per injector.
 */
export interface SinkFaults {
  /**
   * Arranges that the NEXT `write()` puts part of its batch into the destination (some whole events, or a torn
   * part of one) and then rejects. Writes after that one work again. For example a file sink whose append
   * stops after N bytes with EIO, a broker connection cut after the first publish.
   * Without it the suite simulates the outcome: it writes the first part of the batch as a batch of its own
   * (without the commit), then retries the whole batch.
   */
  failNextWritePartway?(): void | Promise<void>;
  /**
   * Breaks the destination so the sink's next `open()` rejects (unreachable server, unwritable directory) and
   * returns a function that repairs it. The suite then calls `open()` again on the SAME sink and expects it to
   * open and write (a sink must not keep a failed open). Without it the suite opens once with an already
   * aborted context signal (which may or may not fail) and then opens again with a live one.
   */
  breakOpen?(): Promise<() => void | Promise<void>>;
}

export interface SinkContractHarness {
  /** A sink that is not opened yet: the suite calls `open()` (if it has one) before each case. */
  sink: Sink;
  /** Everything the destination durably holds, in stored order. */
  readBack(): Promise<ChangeEvent[]>;
  /** A fresh sink over the same destination, as after a process restart. Needed when `idempotent` is true. */
  reopen?(): Promise<Sink>;
  /** Removes what setup created (files, streams, exchanges). Runs after every case, also after a failed one. */
  cleanup?(): Promise<void>;
  /** Fault injectors; see {@link SinkFaults}. Supply what the sink can do: each one makes a case real. */
  faults?: SinkFaults;
}

export interface SinkContractOptions {
  /** The sink drops events whose id it already holds (after a restart too): delivery is checked exactly-once. */
  idempotent: boolean;
  /**
   * How long a write may take to settle once its abort signal fired.
   * @default 10000
   */
  abortSettleMs?: number;
}

export function batchOf(seq: number, events: ChangeEvent[], commits = true): Batch {
  const last = events[events.length - 1];
  return {
    seq,
    events,
    commits: commits && last ? [commitOf(last.position.lsn, last.position.index + 1, last.transactionId)] : [],
    schemaChanges: [],
    bytes: events.length * 100,
  };
}

/** One event carrying every kind of value walstream keeps exact. */
export function valueZoo(lsn = 0x5000n): ChangeEvent {
  return makeEvent({
    lsn,
    index: 0,
    after: {
      id: 1n,
      big: 9223372036854775807n,
      numeric: '123456789012345678901234567890.123456789',
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      negzero: -0,
      float: 1.5e300,
      text: 'quote " backslash \\ newline \n unicode é 😀',
      empty: '',
      nul: null,
      bool: false,
      bytes: new Uint8Array([0, 1, 2, 254, 255]),
      json: new RawJson('{"a":1,"b":[true,null],"c":"x"}'),
      arr: [1, null, 'a,b', ['nested']],
      ts: '2026-05-03T02:40:00.123456+05:30',
    },
    key: { id: 1n },
  });
}

const ctx = (signal = new AbortController().signal): SinkContext => ({
  pipeline: 'contract',
  logger: silentLogger,
  signal,
});
const opts = () => ({ signal: new AbortController().signal });
const ids = (evs: readonly ChangeEvent[]) => evs.map((e) => e.id);
const txn = (lsn: bigint, n: number, op: ChangeEvent['operation'] = 'INSERT') =>
  Array.from({ length: n }, (_, i) => makeEvent({ lsn, index: i, operation: op, transactionId: String(lsn) }));

/** Asserts the destination holds `expected` (by id) under the sink's delivery guarantee. */
export function expectDelivered(
  held: readonly ChangeEvent[],
  expected: readonly ChangeEvent[],
  idempotent: boolean,
): void {
  const want = ids(expected);
  const got = ids(held);
  if (idempotent) {
    expect(got).toEqual(want);
    return;
  }
  expect([...new Set(got)]).toEqual(want);
}

/** A prefix of a batch as a batch of its own, without the commit: what a write stopped partway leaves behind. */
function prefixOf(batch: Batch, count: number): Batch {
  return { ...batch, events: batch.events.slice(0, count), commits: [], bytes: 0 };
}

export function describeSinkContract(
  name: string,
  setup: () => Promise<SinkContractHarness>,
  options: SinkContractOptions,
): void {
  const idem = options.idempotent;
  describe(`sink contract: ${name}`, () => {
    const withHarness =
      (fn: (h: SinkContractHarness) => Promise<void>, { open = true }: { open?: boolean } = {}) =>
      async () => {
        const h = await setup();
        try {
          if (open) await h.sink.open?.(ctx());
          await fn(h);
        } finally {
          try {
            await h.sink.close?.();
          } finally {
            await h.cleanup?.();
          }
        }
      };

    /** The next write fails partway (really, or simulated), then the same batch is written again. */
    const failPartwayThenRetry = async (h: SinkContractHarness, batch: Batch) => {
      if (h.faults?.failNextWritePartway) {
        await h.faults.failNextWritePartway();
        await expect(h.sink.write(batch, opts()), 'the injected partial write must reject').rejects.toBeDefined();
      } else {
        await h.sink.write(prefixOf(batch, Math.max(1, batch.events.length - 1)), opts());
      }
      await h.sink.write(batch, opts());
    };

    it(
      'holds every event of a resolved write, in order',
      withHarness(async (h) => {
        const a = txn(0x100n, 3);
        const b = txn(0x200n, 2, 'UPDATE');
        await h.sink.write(batchOf(1, a), opts());
        await h.sink.write(batchOf(2, b), opts());
        expectDelivered(await h.readBack(), [...a, ...b], idem);
      }),
    );

    it(
      'keeps every value exact (canonical JSON of what it holds equals the original)',
      withHarness(async (h) => {
        const e = valueZoo();
        await h.sink.write(batchOf(1, [e]), opts());
        const [back] = await h.readBack();
        expect(back && encodeEventJson(back)).toBe(encodeEventJson(e));
      }),
    );

    it(
      'accepts a batch with no events (a transaction end only)',
      withHarness(async (h) => {
        await h.sink.write({ seq: 1, events: [], commits: [commitOf(0x300n, 0)], schemaChanges: [], bytes: 0 }, opts());
        expect(await h.readBack()).toEqual([]);
      }),
    );

    it(
      'a write that fails partway and is retried with the same batch leaves every event, in order',
      withHarness(async (h) => {
        const a = txn(0x100n, 2);
        const b = txn(0x200n, 4);
        const c = txn(0x300n, 1);
        await h.sink.write(batchOf(1, a), opts());
        await failPartwayThenRetry(h, batchOf(2, b));
        await h.sink.write(batchOf(3, c), opts());
        expectDelivered(await h.readBack(), [...a, ...b, ...c], idem);
      }),
    );

    it(
      'a transaction split across two batches is held whole, also when its second part fails partway and is retried',
      withHarness(async (h) => {
        const t = txn(0x400n, 5);
        const after = txn(0x500n, 2);
        // The first part carries no commit: the pipeline confirms nothing of it yet.
        await h.sink.write({ seq: 1, events: t.slice(0, 2), commits: [], schemaChanges: [], bytes: 0 }, opts());
        await failPartwayThenRetry(h, batchOf(2, t.slice(2)));
        await h.sink.write(batchOf(3, after), opts());
        expectDelivered(await h.readBack(), [...t, ...after], idem);
      }),
    );

    it(
      'a write whose signal aborts settles promptly, and retrying the batch delivers all of it',
      withHarness(async (h) => {
        const a = txn(0x100n, 3);
        const b = txn(0x200n, 3);
        await h.sink.write(batchOf(1, a), opts());
        const ac = new AbortController();
        const pending = h.sink.write(batchOf(2, b), { signal: ac.signal });
        ac.abort(new Error('contract: stop'));
        const limit = options.abortSettleMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          pending.then(
            () => 'resolved',
            () => 'rejected',
          ),
          new Promise<string>((r) => {
            timer = setTimeout(() => r('hung'), limit);
          }),
        ]).finally(() => clearTimeout(timer));
        expect(outcome, `write must settle within ${limit} ms of its abort`).not.toBe('hung');
        // Resolved means durable; rejected means the pipeline retries the same batch. Either way, after the
        // retry every event is there.
        await h.sink.write(batchOf(2, b), opts());
        expectDelivered(await h.readBack(), [...a, ...b], idem);
      }),
      (options.abortSettleMs ?? 10_000) + 10_000,
    );

    it(
      'rejects a write after close with a SINK_CLOSED error',
      withHarness(async (h) => {
        await h.sink.write(batchOf(1, txn(0x100n, 1)), opts());
        await h.sink.close?.();
        await expect(h.sink.write(batchOf(2, txn(0x200n, 1)), opts())).rejects.toMatchObject({
          code: ErrorCode.SinkClosed,
        });
      }),
    );

    it(
      'opens again after a failed open and then writes',
      withHarness(
        async (h) => {
          if (h.faults?.breakOpen) {
            const heal = await h.faults.breakOpen();
            await expect(h.sink.open?.(ctx()), 'open on a broken destination must reject').rejects.toBeDefined();
            await heal();
          } else {
            const aborted = new AbortController();
            aborted.abort(new Error('contract: aborted open'));
            await h.sink.open?.(ctx(aborted.signal)).catch(() => undefined);
          }
          await h.sink.open?.(ctx());
          const a = txn(0x100n, 2);
          await h.sink.write(batchOf(1, a), opts());
          expectDelivered(await h.readBack(), a, idem);
        },
        { open: false },
      ),
    );

    it(
      'a replay of batches already written (same sink, as after a reader reconnect) loses and reorders nothing',
      withHarness(async (h) => {
        const a = txn(0x100n, 3);
        const b = txn(0x200n, 2);
        const c = txn(0x300n, 2);
        await h.sink.write(batchOf(1, a), opts());
        await h.sink.write(batchOf(2, b), opts());
        // From the middle of the first transaction: a replay restarts at the last confirmed position.
        await h.sink.write(batchOf(3, [...a.slice(1), ...b]), opts());
        await h.sink.write(batchOf(4, c), opts());
        expectDelivered(await h.readBack(), [...a, ...b, ...c], idem);
      }),
    );

    if (idem) {
      it(
        'does not store an event id twice when a batch is replayed after a restart',
        withHarness(async (h) => {
          const a = txn(0x100n, 3);
          const b = txn(0x200n, 2);
          await h.sink.write(batchOf(1, a), opts());
          await h.sink.write(batchOf(2, b), opts());
          await h.sink.close?.();
          expect(h.reopen, 'an idempotent sink harness must provide reopen()').toBeDefined();
          h.sink = await (h.reopen as () => Promise<Sink>)();
          await h.sink.open?.(ctx());
          // Replay from the middle of the first transaction, as after a crash, then continue.
          const c = [makeEvent({ lsn: 0x300n, index: 0 })];
          await h.sink.write(batchOf(1, [...a.slice(1), ...b]), opts());
          await h.sink.write(batchOf(2, c), opts());
          expectDelivered(await h.readBack(), [...a, ...b, ...c], true);
        }),
      );
    }
  });
}
