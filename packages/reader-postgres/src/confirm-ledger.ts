/**
 * What the reader may confirm to Postgres: the commit rule's bookkeeping, apart from the connection.
 *
 * A transaction handed out is confirmed only once the consumer acknowledged its last event (then its end LSN,
 * held back below a pending streamed or prepared transaction). Transactions without events and an idle
 * server's keepalives move the confirmed position without a consumer. After a reconnect the server re-sends
 * from the oldest unconfirmed transaction: what was already handed out is skipped by (lsn, index).
 */
import type { Lsn, Position, ReaderItem } from '@walstream/core';
import type { TransactionEnd } from './change-decoder.js';

interface HandedOut {
  lsn: Lsn;
  index: number;
  commit: boolean;
}

export class ConfirmLedger {
  /** The position confirmed to the server (flush and apply in status updates). */
  confirmed: Lsn = 0n;
  /** Transactions handed out and not yet acknowledged, oldest first. */
  private readonly ends: TransactionEnd[] = [];
  /** After a reconnect: skip events up to this (lsn, index), and the commit too when it was handed out. */
  private skipTo: HandedOut | null = null;
  private lastHandedOut: HandedOut | null = null;

  /** Transactions handed out and not yet acknowledged. */
  get pending(): number {
    return this.ends.length;
  }

  /** The decoder finished a transaction with events. */
  transactionEnded(end: TransactionEnd): void {
    this.ends.push(end);
  }

  /** A snapshot chunk appended rows to the transaction committed at `lsn`: its last event is now `index`. */
  setLastIndex(lsn: Lsn, index: number): void {
    for (const e of this.ends) if (e.commitLsn === lsn) e.lastIndex = index;
  }

  /**
   * A transaction without events: confirming past it needs no consumer. With transactions still unacknowledged
   * its end extends the newest one's (acknowledging that one then confirms past both); with none, it is
   * confirmed now unless `decoderIdle` is false (a streamed or prepared transaction is pending: the keepalive
   * rule decides later). Either way nothing accumulates, however many of them arrive while a sink stalls.
   */
  emptyTransaction(endLsn: Lsn, decoderIdle: boolean): void {
    const last = this.ends.at(-1);
    if (last !== undefined) {
      if (endLsn > last.endLsn) last.endLsn = endLsn;
      return;
    }
    if (decoderIdle && endLsn > this.confirmed) this.confirmed = endLsn;
  }

  /**
   * The server's WAL end from a keepalive. `quiet`: nothing queued, open or buffered in the reader. Then, with
   * nothing unacknowledged either, the server's position can be confirmed, so an idle database keeps no WAL.
   */
  keepalive(walEnd: Lsn, quiet: boolean): void {
    if (quiet && this.ends.length === 0 && walEnd > this.confirmed) this.confirmed = walEnd;
  }

  /** The consumer holds everything up to `position`; `holdBack` (if any) caps what may be confirmed. */
  ack(position: Position, holdBack: Lsn | null): void {
    let end: TransactionEnd | undefined;
    while (this.ends.length > 0) {
      const e = this.ends[0] as TransactionEnd;
      if (e.commitLsn < position.lsn || (e.commitLsn === position.lsn && position.index >= e.lastIndex)) {
        end = this.ends.shift();
      } else break;
    }
    if (end === undefined) return;
    let lsn = end.endLsn;
    if (holdBack !== null && lsn > holdBack) lsn = holdBack;
    if (lsn > this.confirmed) this.confirmed = lsn;
  }

  /** A new connection re-sends from the oldest unconfirmed transaction: skip what was handed out already. */
  replaying(): void {
    this.skipTo = this.lastHandedOut;
  }

  /**
   * True for what a reconnect re-sent that was already handed out: a half-delivered transaction continues where
   * it stopped. Schema items and heartbeats are never dropped (the decoder re-emits a schema only for a new shape).
   */
  skip(item: ReaderItem): boolean {
    const kind = (item as { kind?: string }).kind;
    if (kind === 'heartbeat' || kind === 'schema') return false;
    const pos = (item as { position: Position }).position;
    const commit = kind === 'commit';
    const s = this.skipTo;
    if (s !== null) {
      if (pos.lsn < s.lsn || (pos.lsn === s.lsn && (commit ? s.commit : pos.index <= s.index))) {
        if (commit) this.ends.pop(); // its end was recorded again by the decoder
        return true;
      }
      this.skipTo = null; // past the re-sent part: positions only grow from here
    }
    this.lastHandedOut = { lsn: pos.lsn, index: pos.index, commit };
    return false;
  }
}
