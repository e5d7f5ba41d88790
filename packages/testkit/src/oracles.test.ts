import { describe, expect, it } from 'vitest';
import { assertConfirmedNeverAhead, assertDuplicatesOnlyAfterAck, type RunEnd } from './oracles.js';
import type { Delivery } from './recording.js';

const d = (sink: string, run: number, lsn: number): Delivery => ({
  sink,
  run,
  id: `0/${lsn.toString(16)}:0`,
  lsn: String(lsn),
  index: 0,
  xid: '1',
  op: 'INSERT',
  table: 'w',
  key: `[["id",${lsn}]]`,
  after: { id: lsn, seq: 0 },
});

describe('O5 assertConfirmedNeverAhead', () => {
  it('passes when every run end confirmed only what each sink held by then, and counts the events checked', () => {
    const all = [d('a', 1, 10), d('b', 1, 10), d('a', 1, 20), d('b', 2, 20), d('a', 2, 30), d('b', 2, 30)];
    const ends: RunEnd[] = [
      { run: 1, confirmed: 11n },
      { run: 2, confirmed: 31n },
    ];
    expect(assertConfirmedNeverAhead(all, ends, ['a', 'b'])).toEqual({ checkedEvents: 1 + 3 });
  });

  it('fails when a run confirmed past an event one sink got only in a later run (or never)', () => {
    const all = [d('a', 1, 10), d('b', 1, 10), d('a', 1, 20), d('b', 2, 20), d('a', 2, 30)];
    const ends: RunEnd[] = [
      { run: 1, confirmed: 21n },
      { run: 2, confirmed: 31n },
    ];
    // b held 20 only in run 2 (after run 1 confirmed past it) and never held 30.
    expect(() => assertConfirmedNeverAhead(all, ends, ['a', 'b'])).toThrow(/O5: 2 events/);
  });
});

describe('O2 assertDuplicatesOnlyAfterAck', () => {
  it('accepts a replay at or past the previous run end, rejects one below it and one twice in a run', () => {
    const ends: RunEnd[] = [{ run: 1, confirmed: 20n }];
    expect(assertDuplicatesOnlyAfterAck([d('a', 1, 20), d('a', 2, 20)], ends, 'a')).toEqual({ duplicates: 1 });
    expect(() => assertDuplicatesOnlyAfterAck([d('a', 1, 10), d('a', 2, 10)], ends, 'a')).toThrow(/O2/);
    expect(() => assertDuplicatesOnlyAfterAck([d('a', 2, 30), d('a', 2, 30)], ends, 'a')).toThrow(/twice in one run/);
  });
});
