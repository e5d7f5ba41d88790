import type { ReaderItem } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { ConfirmLedger } from './confirm-ledger.js';

const at = (lsn: bigint, index: number) => ({ lsn, index });
const event = (lsn: bigint, index: number) => ({ position: at(lsn, index) }) as unknown as ReaderItem;
const commit = (lsn: bigint, index: number) => ({ kind: 'commit', position: at(lsn, index) }) as unknown as ReaderItem;

describe('ConfirmLedger', () => {
  it("confirms a transaction's end only once its last event is acknowledged, in order", () => {
    const l = new ConfirmLedger();
    l.transactionEnded({ commitLsn: 100n, lastIndex: 2, endLsn: 110n });
    l.transactionEnded({ commitLsn: 200n, lastIndex: 0, endLsn: 210n });
    l.ack(at(100n, 1), null);
    expect(l.confirmed).toBe(0n);
    l.ack(at(100n, 2), null);
    expect(l.confirmed).toBe(110n);
    expect(l.pending).toBe(1);
    // An acknowledgement past both confirms the newest end.
    l.ack(at(300n, 0), null);
    expect(l.confirmed).toBe(210n);
    expect(l.pending).toBe(0);
  });

  it('never confirms past a hold-back (a pending prepared transaction) and never goes backwards', () => {
    const l = new ConfirmLedger();
    l.confirmed = 50n;
    l.transactionEnded({ commitLsn: 100n, lastIndex: 0, endLsn: 110n });
    l.ack(at(100n, 0), 105n);
    expect(l.confirmed).toBe(105n);
    l.transactionEnded({ commitLsn: 120n, lastIndex: 0, endLsn: 130n });
    l.ack(at(120n, 0), 40n);
    expect(l.confirmed).toBe(105n);
  });

  it('folds empty transactions into the newest unacknowledged one, or confirms them when nothing waits', () => {
    const l = new ConfirmLedger();
    l.emptyTransaction(20n, true);
    expect(l.confirmed).toBe(20n);
    l.emptyTransaction(30n, false); // a streamed transaction is open: not now
    expect(l.confirmed).toBe(20n);
    l.transactionEnded({ commitLsn: 100n, lastIndex: 0, endLsn: 110n });
    for (let i = 0; i < 1000; i++) l.emptyTransaction(200n + BigInt(i), true);
    expect(l.confirmed).toBe(20n);
    expect(l.pending).toBe(1);
    l.ack(at(100n, 0), null);
    expect(l.confirmed).toBe(1199n);
  });

  it("confirms a keepalive's position only when the reader is quiet and nothing is unacknowledged", () => {
    const l = new ConfirmLedger();
    l.keepalive(100n, false);
    expect(l.confirmed).toBe(0n);
    l.keepalive(100n, true);
    expect(l.confirmed).toBe(100n);
    l.transactionEnded({ commitLsn: 150n, lastIndex: 0, endLsn: 160n });
    l.keepalive(300n, true);
    expect(l.confirmed).toBe(100n);
  });

  it('after a reconnect skips what was handed out, down to the event, and the re-recorded end of a skipped commit', () => {
    const l = new ConfirmLedger();
    const first = [event(100n, 0), event(100n, 1), commit(100n, 1), event(200n, 0), event(200n, 1)];
    l.transactionEnded({ commitLsn: 100n, lastIndex: 1, endLsn: 110n });
    for (const item of first) expect(l.skip(item)).toBe(false);
    // The server re-sends from transaction 100 (unconfirmed); the decoder records its end again.
    l.replaying();
    l.transactionEnded({ commitLsn: 100n, lastIndex: 1, endLsn: 110n });
    const again = [event(100n, 0), event(100n, 1), commit(100n, 1), event(200n, 0), event(200n, 1), event(200n, 2)];
    const schema = { kind: 'schema' } as unknown as ReaderItem;
    expect(l.skip(schema)).toBe(false);
    expect(again.map((i) => l.skip(i))).toEqual([true, true, true, true, true, false]);
    expect(l.pending).toBe(1);
    l.transactionEnded({ commitLsn: 200n, lastIndex: 2, endLsn: 210n });
    l.ack(at(200n, 2), null);
    expect(l.confirmed).toBe(210n);
  });
});
