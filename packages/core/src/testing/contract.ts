/**
 * The sink contract: what every sink promises, run by each sink package against itself:
 *
 *   describeSinkContract('file', async () => ({ sink, readBack, reopen, cleanup }), { idempotent: true });
 */
import { describe, expect, it } from 'vitest';
import { encodeEventJson } from '../codec-json.js';
import type { Batch, ChangeEvent } from '../event.js';
import { RawJson } from '../event.js';
import type { Sink } from '../interfaces.js';
import { silentLogger } from '../logger.js';
import { commitOf, makeEvent } from './fixtures.js';

export interface SinkContractHarness {
  sink: Sink;
  /** Everything the destination durably holds, in stored order. */
  readBack(): Promise<ChangeEvent[]>;
  /** A fresh sink over the same destination, as after a process restart. Needed for idempotency. */
  reopen?(): Promise<Sink>;
  cleanup?(): Promise<void>;
}

export interface SinkContractOptions {
  /** The sink drops events whose id it already holds (after a restart too). */
  idempotent: boolean;
  /** The destination keeps typed values (so readBack is compared by canonical JSON either way). @default false */
  typed?: boolean;
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

const ctx = () => ({ pipeline: 'contract', logger: silentLogger, signal: new AbortController().signal });
const opts = () => ({ signal: new AbortController().signal });
const ids = (evs: ChangeEvent[]) => evs.map((e) => e.id);

export function describeSinkContract(
  name: string,
  setup: () => Promise<SinkContractHarness>,
  options: SinkContractOptions,
): void {
  describe(`sink contract: ${name}`, () => {
    const withHarness = (fn: (h: SinkContractHarness) => Promise<void>) => async () => {
      const h = await setup();
      try {
        await h.sink.open?.(ctx());
        await fn(h);
      } finally {
        await h.sink.close?.();
        await h.cleanup?.();
      }
    };

    it(
      'holds every event of a resolved write, in order',
      withHarness(async (h) => {
        const a = [0, 1, 2].map((i) => makeEvent({ lsn: 0x100n, index: i }));
        const b = [0, 1].map((i) => makeEvent({ lsn: 0x200n, index: i, operation: 'UPDATE' }));
        await h.sink.write(batchOf(1, a), opts());
        await h.sink.write(batchOf(2, b), opts());
        expect(ids(await h.readBack())).toEqual(ids([...a, ...b]));
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

    if (options.idempotent) {
      it(
        'does not store an event id twice when a batch is replayed after a restart',
        withHarness(async (h) => {
          const a = [0, 1, 2].map((i) => makeEvent({ lsn: 0x100n, index: i }));
          const b = [0, 1].map((i) => makeEvent({ lsn: 0x200n, index: i }));
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
          expect(ids(await h.readBack())).toEqual(ids([...a, ...b, ...c]));
        }),
      );
    }
  });
}
