/**
 * JetStream publishes with one reply inbox for all PubAcks and one timer for all deadlines. `js.publish` builds a
 * request per message (a mux entry, a promise, a timer and an Error for the cancelled deadline): in event mode that
 * was a quarter of the CPU time. The wire protocol is the same: a PUB with a reply subject and a Nats-Msg-Id
 * header, answered by a PubAck JSON (or a JetStream error, or a 503 status when no stream listens).
 *
 * Messages waiting for their PubAck sit in a ring indexed by their sequence number (the reply subject's last
 * token), not in a Map: a Map of a thousand entries rehashed every thousand acks, and each new table, reached
 * from the old generation, was promoted: a fifth of what event mode promoted, and old-generation garbage is what
 * peak RSS is made of.
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { type HeaderPrefix, HeaderSlab } from './wire-headers.js';

/** Called once per message with its PubAck's outcome; `token` is what send() was given. */
export type AckHandler<T> = (token: T, err: unknown, duplicate: boolean) => void;

/** Named like nats.js's own errors, so mapNatsError treats both alike. */
class AckError extends Error {
  constructor(
    name: string,
    message: string,
    readonly api_error?: { code?: number; err_code?: number; description?: string },
  ) {
    super(message);
    this.name = name;
  }
}

const INITIAL_RING = 1024;
/**
 * A ring grown past this (an ack lost or late while later ones came: the span from the oldest waiting message to
 * the newest is throughput x ackTimeoutMs) goes back to INITIAL_RING once nothing waits, rather than holding its
 * largest size for the connection's life. Windows up to this many messages never shrink and regrow.
 */
const SHRINK_ABOVE = 8 * INITIAL_RING;

export class AckInbox<T extends object> {
  private readonly prefix: string;
  private readonly sub: Subscription;
  /** Sequence number of the next message, and of the oldest one that may still wait. */
  private nextSeq = 0;
  private headSeq = 0;
  private waiting = 0;
  /** Slot `seq & mask`: the token of a waiting message, or null once settled. */
  private tokens: (T | null)[] = new Array(INITIAL_RING).fill(null);
  private deadlines = new Float64Array(INITIAL_RING);
  private mask = INITIAL_RING - 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly headers = new HeaderSlab();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly onSettled: AckHandler<T>,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answer(err, msg) });
  }

  get pending(): number {
    return this.waiting;
  }

  /** Slots in the ring (for tests). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Publishes with the sink's fixed headers and a Nats-Msg-Id; onSettled gets `token` and the outcome. */
  send(subject: string, payload: Uint8Array, prefix: HeaderPrefix, msgID: string, token: T): void {
    if (this.nextSeq - this.headSeq > this.mask) this.grow();
    const seq = this.nextSeq++;
    const slot = seq & this.mask;
    this.tokens[slot] = token;
    this.deadlines[slot] = Date.now() + this.timeoutMs;
    this.waiting++;
    try {
      // Our headers object is not a MsgHdrs, but nats.js' publish only calls its encode() (see wire-headers.ts).
      const headers = this.headers.block(prefix, msgID) as unknown as MsgHdrs;
      this.nc.publish(subject, payload, { reply: this.prefix + seq.toString(36), headers });
    } catch (err) {
      this.settle(seq, err, false);
      return;
    }
    if (this.timer === null) this.arm();
  }

  /** Fails whatever still waits (the connection is closing). */
  close(reason: unknown): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.failAll(reason);
    this.sub.unsubscribe();
  }

  private failAll(reason: unknown): void {
    for (let seq = this.headSeq, end = this.nextSeq; seq < end; seq++) this.settle(seq, reason, false);
  }

  private answer(err: unknown, msg: Msg): void {
    if (err) {
      // The subscription itself failed (e.g. no permission on the inbox): nothing will be acknowledged.
      this.failAll(err);
      return;
    }
    const seq = Number.parseInt(msg.subject.slice(this.prefix.length), 36);
    if (!(seq >= this.headSeq && seq < this.nextSeq)) return; // settled (timed out) already, or not ours
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.settle(seq, new AckError('NoRespondersError', 'no responders'), false);
      return;
    }
    let r: { stream?: string; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      r = msg.json();
    } catch (e) {
      this.settle(seq, e, false);
      return;
    }
    if (r.error) {
      this.settle(seq, new AckError('JetStreamApiError', r.error.description ?? 'JetStream error', r.error), false);
    } else if (!r.stream) {
      this.settle(seq, new AckError('JetStreamError', 'invalid ack response'), false);
    } else this.settle(seq, null, r.duplicate === true);
  }

  private settle(seq: number, err: unknown, duplicate: boolean): void {
    const slot = seq & this.mask;
    const token = this.tokens[slot];
    if (token === null || token === undefined) return;
    this.tokens[slot] = null;
    this.waiting--;
    // Acks mostly come in order: the head moves past settled messages at once.
    while (this.headSeq < this.nextSeq && this.tokens[this.headSeq & this.mask] === null) this.headSeq++;
    if (this.headSeq === this.nextSeq && this.mask >= SHRINK_ABOVE) this.resize(INITIAL_RING);
    this.onSettled(token, err, duplicate);
  }

  /** A window larger than the ring (maxPendingAcks above it): double it, keeping each sequence's slot. */
  private grow(): void {
    this.resize((this.mask + 1) * 2);
  }

  /** A new ring of `size` slots (a power of two holding every waiting message), each sequence in its slot. */
  private resize(size: number): void {
    const tokens: (T | null)[] = new Array(size).fill(null);
    const deadlines = new Float64Array(size);
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      tokens[seq & (size - 1)] = this.tokens[seq & this.mask] ?? null;
      deadlines[seq & (size - 1)] = this.deadlines[seq & this.mask] as number;
    }
    this.tokens = tokens;
    this.deadlines = deadlines;
    this.mask = size - 1;
  }

  /** One timer, at the oldest deadline (messages are sent in order, so deadlines are too). */
  private arm(): void {
    if (this.waiting === 0) {
      this.timer = null;
      return;
    }
    const first = this.deadlines[this.headSeq & this.mask] as number;
    this.timer = setTimeout(() => this.expire(), Math.max(0, first - Date.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    const now = Date.now();
    while (this.waiting > 0 && (this.deadlines[this.headSeq & this.mask] as number) <= now) {
      this.settle(this.headSeq, new AckError('TimeoutError', 'timeout'), false);
    }
    this.arm();
  }
}
