/**
 * Publishes messages in the order they are submitted, across writes, with at most `window` PubAcks outstanding
 * (independent of how the pipeline cut its batches). Each write waits for its own group of acks.
 *
 * Order across retries: JetStream stores one connection's messages in the order they arrive, so after a lost
 * message only a prefix of what was sent can be stored. Nothing submitted after a failure (or a disconnect) is
 * published until every message under way has settled: the pipeline then retries the failed writes oldest
 * first, and no later message lands in the stream before an earlier one it retries.
 */
import type { HeaderPrefix } from './wire-headers.js';

/**
 * Publishes one message; its PubAck's outcome must come back through the publisher's settled() with `group`
 * (see AckInbox). A group rather than a callback per message: a closure per message, alive until its PubAck,
 * was promoted to the old generation in a catch-up.
 */
export type SendFn = (
  subject: string,
  payload: Uint8Array,
  headers: HeaderPrefix,
  msgID: string,
  group: AckGroup,
) => void;

/** The messages of one write: resolves when all are acknowledged, rejects once all settled and one failed. */
export class AckGroup {
  private submitted = 0;
  private settledCount = 0;
  private sealed = false;
  private error: unknown = null;
  acks = 0;
  duplicates = 0;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (e: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {}); // the write awaits it; an early failure must not be unhandled meanwhile
  }

  get size(): number {
    return this.submitted;
  }

  added(): void {
    this.submitted++;
  }

  ack(duplicate: boolean): void {
    this.acks++;
    if (duplicate) this.duplicates++;
    this.settle();
  }

  fail(err: unknown): void {
    this.error ??= err;
    this.settle();
  }

  /** No more messages: settles once every submitted one has. */
  seal(): Promise<void> {
    this.sealed = true;
    this.check();
    return this.done;
  }

  private settle(): void {
    this.settledCount++;
    this.check();
  }

  private check(): void {
    if (!this.sealed || this.settledCount < this.submitted) return;
    if (this.error === null) this.resolve();
    else this.reject(this.error);
  }
}

interface Queued {
  readonly group: AckGroup;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: HeaderPrefix;
  readonly msgID: string;
}

export class OrderedPublisher {
  private queue: Queued[] = [];
  private head = 0;
  private inflight = 0;
  /** Set by a failure or a disconnect: queued messages are refused until nothing is under way. */
  private broken: unknown = null;
  /**
   * While disconnected nothing is published: nats.js would buffer it and send it after the reconnect,
   * possibly after earlier messages that died with the old connection.
   */
  private offline: unknown = null;

  private readonly refillAt: number;

  constructor(
    private readonly send: SendFn,
    private readonly window: number,
  ) {
    this.refillAt = Math.floor(window / 2);
  }

  get pending(): number {
    return this.inflight + this.queue.length - this.head;
  }

  submit(group: AckGroup, subject: string, payload: Uint8Array, headers: HeaderPrefix, msgID: string): void {
    group.added();
    if (
      this.head === this.queue.length &&
      this.inflight < this.window &&
      this.broken === null &&
      this.offline === null
    ) {
      // Nothing waits before it: sent at once, without a queue entry.
      this.inflight++;
      this.send(subject, payload, headers, msgID, group);
      return;
    }
    this.queue.push({ group, subject, payload, headers, msgID });
    this.pump();
  }

  /** Refuse what is queued and what comes next until every message under way has settled. */
  breakOff(reason: unknown): void {
    this.broken ??= reason;
    this.pump();
  }

  disconnected(reason: unknown): void {
    this.offline = reason;
    this.breakOff(reason);
  }

  reconnected(): void {
    this.offline = null;
  }

  /** A message's PubAck outcome (from the SendFn's transport). */
  settled(group: AckGroup, err: unknown, duplicate: boolean): void {
    this.inflight--;
    if (err) {
      this.broken ??= err;
      group.fail(err);
      this.pump();
      return;
    }
    group.ack(duplicate);
    // Refill in bursts, not one message per ack: nats.js writes what was published in one tick with one
    // socket write, and a write per message was a fifth of the event mode's CPU time.
    if (this.inflight <= this.refillAt || this.inflight === 0) this.pump();
  }

  private pump(): void {
    if (this.broken !== null && this.inflight === 0 && this.head === this.queue.length) this.broken = null;
    while (
      this.head < this.queue.length &&
      (this.broken !== null || this.offline !== null || this.inflight < this.window)
    ) {
      const m = this.queue[this.head] as Queued;
      this.queue[this.head++] = undefined as unknown as Queued;
      const refused = this.offline ?? this.broken;
      if (refused !== null) {
        m.group.fail(refused);
        continue;
      }
      this.inflight++;
      // Only the group waits for the PubAck: the payload is nats.js' until it has written it (the same tick), so
      // it dies young. Held until the PubAck, batch payloads outlived the young generation and piled up as
      // external memory until a full collection (30+ MB in a 1M-row catch-up).
      this.send(m.subject, m.payload, m.headers, m.msgID, m.group);
    }
    if (this.head === this.queue.length && this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
    if (this.broken !== null && this.inflight === 0 && this.head === this.queue.length) this.broken = null;
  }
}
