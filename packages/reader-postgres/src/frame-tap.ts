/**
 * Reads a COPY's CopyData frames straight off the connection's socket while the COPY runs (a snapshot's COPY TO,
 * the replication stream's CopyBoth). Through pg's own parser every frame costs a Buffer view, a message object
 * and an event, and pg's parser moves a partial message within its own buffer, so a frame kept past the event
 * had to be copied; each socket read that ends inside a frame also made it allocate a new buffer twice the size
 * of the last. At a million rows that was a third of a snapshot's CPU and most of its garbage, and 7% of a NATS
 * catch-up's. Here a frame is a view of the socket's read (a fresh buffer per read, which nothing reuses).
 *
 * Only CopyData frames and the messages the caller's policy names are taken: a message it forwards (a
 * replication start, a notice) goes to pg whole, on its own, so pg's parser never holds a partial message; at the
 * first message it does not name (CopyDone, an ErrorResponse...) pg's listener is put back and given every byte
 * from that message on, so completion, errors and the connection's state stay pg's.
 *
 * Taken over when the COPY is submitted: pg submits a query only after the previous one's ReadyForQuery, so its
 * parser holds no partial message then (the server sends nothing unasked in these sessions: no LISTEN). If the
 * socket does not have exactly pg's one data listener, nothing is taken over and frames come through pg's
 * messages instead.
 */
import type { EventEmitter } from 'node:events';

type DataListener = (chunk: Buffer) => void;

const COPY_DATA = 0x64; // 'd'

/** What the tap does with a message other than CopyData: drop it, hand it to pg and go on, or give pg the socket. */
export type OtherMessage = 'skip' | 'forward' | 'detach';
export type TapPolicy = (code: number) => OtherMessage;

/** COPY TO: pg's submittable needs no CopyOutResponse ('H'); anything else ends the COPY. */
export const COPY_OUT: TapPolicy = (code) => (code === 0x48 ? 'skip' : 'detach');

/**
 * START_REPLICATION: pg emits `replicationStart` on CopyBothResponse ('W') and notices ('N') matter (PostgreSQL
 * 18 reports a missing publication as one); ParameterStatus ('S') and NotificationResponse ('A') keep pg's state.
 * CopyDone, an error and the rest end the stream.
 */
export const REPLICATION: TapPolicy = (code) =>
  code === 0x57 || code === 0x4e || code === 0x53 || code === 0x41 ? 'forward' : 'detach';

export class FrameTap {
  private rest: Buffer | null = null;
  private active = true;
  private paused = false;

  private constructor(
    private readonly stream: EventEmitter,
    private readonly pg: DataListener,
    /** One CopyData payload: bytes [start, end) of `buf`, without the frame header. */
    private readonly onRow: (buf: Buffer, start: number, end: number) => void,
    private readonly policy: TapPolicy,
  ) {
    stream.removeListener('data', pg);
    stream.on('data', this.onData);
  }

  /** Takes over the socket's data, or returns null when it cannot safely. */
  static attach(
    connection: { stream?: EventEmitter },
    onRow: (buf: Buffer, start: number, end: number) => void,
    policy: TapPolicy = COPY_OUT,
  ): FrameTap | null {
    const stream = connection.stream;
    if (stream === undefined || typeof stream.listeners !== 'function') return null;
    const listeners = stream.listeners('data');
    if (listeners.length !== 1) return null;
    return new FrameTap(stream, listeners[0] as DataListener, onRow, policy);
  }

  /**
   * Stops reading the socket (the server blocks on its send) until resume(): the consumer is behind. Only while
   * this tap has the socket; detach() resumes it, so pg never gets a paused socket back.
   */
  pause(): void {
    const s = this.stream as unknown as { pause?: () => void };
    if (!this.active || this.paused || typeof s.pause !== 'function') return;
    this.paused = true;
    s.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    (this.stream as unknown as { resume(): void }).resume();
  }

  /** Still reading the socket (detach() not called, no message has ended it). */
  get attached(): boolean {
    return this.active;
  }

  /** Gives the socket back to pg (and with it any bytes not yet parsed). */
  detach(rest?: Buffer): void {
    if (!this.active) return;
    this.active = false;
    this.resume();
    this.stream.removeListener('data', this.onData);
    this.stream.on('data', this.pg);
    this.rest = null;
    if (rest !== undefined && rest.length > 0) this.pg(rest);
  }

  private readonly onData = (chunk: Buffer): void => {
    let off = 0;
    if (this.rest !== null) {
      // Complete the frame split across reads with just the bytes it lacks, not a copy of the whole read.
      let r = this.rest;
      if (r.length < 5) {
        off = Math.min(5 - r.length, chunk.length);
        r = Buffer.concat([r, chunk.subarray(0, off)]);
        if (r.length < 5) {
          this.rest = r;
          return;
        }
      }
      const total = 1 + r.readUInt32BE(1);
      const take = Math.min(total - r.length, chunk.length - off);
      if (take > 0) r = Buffer.concat([r, chunk.subarray(off, off + take)]);
      off += take;
      if (r.length < total) {
        this.rest = r;
        return;
      }
      this.rest = null;
      const done = this.frame(r, 0, total);
      if (done !== NEXT) {
        this.handBack(done === FROM_THIS ? Buffer.concat([r, chunk.subarray(off)]) : chunk.subarray(off));
        return;
      }
    }
    const len = chunk.length;
    while (off + 5 <= len) {
      const total = 1 + chunk.readUInt32BE(off + 1);
      if (off + total > len) break;
      const done = this.frame(chunk, off, total);
      if (done !== NEXT) {
        this.handBack(chunk.subarray(done === FROM_THIS ? off : off + total));
        return;
      }
      off += total;
    }
    // A copy, so the read's whole buffer is not kept alive by its last few bytes.
    if (off < len) this.rest = Buffer.from(chunk.subarray(off));
  };

  /** The bytes from here on are pg's: give them with the socket, or after it (detach() ran meanwhile). */
  private handBack(rest: Buffer): void {
    if (this.active) this.detach(rest);
    else if (rest.length > 0) this.pg(rest);
  }

  /**
   * Handles one whole message: NEXT to go on, FROM_THIS when pg takes the socket from this message on (the policy
   * says so), AFTER_THIS when this one was handled and something ended the tap meanwhile.
   */
  private frame(buf: Buffer, off: number, total: number): Outcome {
    const code = buf[off] as number;
    if (code === COPY_DATA) this.onRow(buf, off + 5, off + total);
    else {
      const what = this.policy(code);
      if (what === 'detach') return FROM_THIS;
      if (what === 'forward') this.pg(buf.subarray(off, off + total));
    }
    return this.active ? NEXT : AFTER_THIS;
  }
}

const NEXT = 0;
const FROM_THIS = 1;
const AFTER_THIS = 2;
type Outcome = typeof NEXT | typeof FROM_THIS | typeof AFTER_THIS;
