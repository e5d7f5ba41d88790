/**
 * JetStream publishes with one reply inbox for all PubAcks and one timer for all deadlines. `js.publish` builds a
 * request per message (a mux entry, a promise, a timer and an Error for the cancelled deadline): in event mode that
 * was a quarter of the CPU time. The wire protocol is the same: a PUB with a reply subject and a Nats-Msg-Id
 * header, answered by a PubAck JSON (or a JetStream error, or a 503 status when no stream listens).
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export type AckCallback = (err: unknown, duplicate: boolean) => void;

interface Waiting {
  readonly deadline: number;
  /** Dropped once settled (the publisher's callback holds only the message's ack group, not its payload). */
  cb: AckCallback | null;
  readonly token: string;
}

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

export class AckInbox {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private next = 0;
  private readonly waiting = new Map<string, Waiting>();
  private order: Waiting[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answer(err, msg) });
  }

  get pending(): number {
    return this.waiting.size;
  }

  send(subject: string, payload: Uint8Array, headers: MsgHdrs, msgID: string, cb: AckCallback): void {
    headers.set('Nats-Msg-Id', msgID);
    const token = (this.next++).toString(36);
    const w: Waiting = { deadline: Date.now() + this.timeoutMs, cb, token };
    this.waiting.set(token, w);
    this.order.push(w);
    try {
      this.nc.publish(subject, payload, { reply: this.prefix + token, headers });
    } catch (err) {
      this.settle(w, err, false);
      return;
    }
    if (this.timer === null) this.arm();
  }

  /** Fails whatever still waits (the connection is closing). */
  close(reason: unknown): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of [...this.waiting.values()]) this.settle(w, reason, false);
    this.sub.unsubscribe();
  }

  private answer(err: unknown, msg: Msg): void {
    if (err) {
      // The subscription itself failed (e.g. no permission on the inbox): nothing will be acknowledged.
      for (const w of [...this.waiting.values()]) this.settle(w, err, false);
      return;
    }
    const w = this.waiting.get(msg.subject.slice(this.prefix.length));
    if (w === undefined) return; // timed out already
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.settle(w, new AckError('NoRespondersError', 'no responders'), false);
      return;
    }
    let r: { stream?: string; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      r = msg.json();
    } catch (e) {
      this.settle(w, e, false);
      return;
    }
    if (r.error) {
      this.settle(w, new AckError('JetStreamApiError', r.error.description ?? 'JetStream error', r.error), false);
    } else if (!r.stream) {
      this.settle(w, new AckError('JetStreamError', 'invalid ack response'), false);
    } else this.settle(w, null, r.duplicate === true);
  }

  private settle(w: Waiting, err: unknown, duplicate: boolean): void {
    const cb = w.cb;
    if (cb === null) return;
    w.cb = null;
    this.waiting.delete(w.token);
    // Acks mostly come in order: drop settled entries from the front at once, not only when the timer fires.
    while (this.head < this.order.length && (this.order[this.head] as Waiting).cb === null) this.head++;
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    cb(err, duplicate);
  }

  /** One timer, at the oldest deadline (messages are sent in order, so deadlines are too). */
  private arm(): void {
    while (this.head < this.order.length && (this.order[this.head] as Waiting).cb === null) this.head++;
    if (this.head === this.order.length) {
      this.order = [];
      this.head = 0;
      this.timer = null;
      return;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    const first = this.order[this.head] as Waiting;
    this.timer = setTimeout(() => this.expire(), Math.max(0, first.deadline - Date.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    const now = Date.now();
    while (this.head < this.order.length) {
      const w = this.order[this.head] as Waiting;
      if (w.cb !== null && w.deadline > now) break;
      this.head++;
      if (w.cb !== null) this.settle(w, new AckError('TimeoutError', 'timeout'), false);
    }
    this.arm();
  }
}
