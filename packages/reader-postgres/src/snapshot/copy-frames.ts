/**
 * Reads a COPY's CopyData frames straight off the connection's socket while the COPY runs. Through pg's own
 * parser every row costs a Buffer view, a message object and an event, and each socket read that ends inside a
 * frame makes the parser allocate a new buffer twice the size of the last; at a million rows that was a third of
 * the CPU and most of the garbage. Only CopyOutResponse and CopyData frames are taken here: at the first other
 * message (CopyDone, an ErrorResponse, a notice...) pg's listener is put back and given every byte from that
 * message on, so completion, errors and the connection's state stay pg's.
 *
 * Taken over when the COPY is submitted: pg submits a query only after the previous one's ReadyForQuery, so its
 * parser holds no partial message then (the server sends nothing unasked in a snapshot session: no LISTEN, no
 * SET of reported settings). If the socket does not have exactly pg's one data listener, nothing is taken over
 * and rows come through pg's messages instead.
 */
import type { EventEmitter } from 'node:events';

type DataListener = (chunk: Buffer) => void;

const COPY_DATA = 0x64; // 'd'
const COPY_OUT_RESPONSE = 0x48; // 'H'

export class CopyFrameTap {
  private rest: Buffer | null = null;
  private active = true;
  private paused = false;

  private constructor(
    private readonly stream: EventEmitter,
    private readonly pg: DataListener,
    /** One row's bytes [start, end) of `buf`, without the frame header. */
    private readonly onRow: (buf: Buffer, start: number, end: number) => void,
  ) {
    stream.removeListener('data', pg);
    stream.on('data', this.onData);
  }

  /** Takes over the socket's data, or returns null when it cannot safely. */
  static attach(
    connection: { stream?: EventEmitter },
    onRow: (buf: Buffer, start: number, end: number) => void,
  ): CopyFrameTap | null {
    const stream = connection.stream;
    if (stream === undefined || typeof stream.listeners !== 'function') return null;
    const listeners = stream.listeners('data');
    if (listeners.length !== 1) return null;
    return new CopyFrameTap(stream, listeners[0] as DataListener, onRow);
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
      if (!this.frame(r, 0, total)) {
        this.detach(Buffer.concat([r, chunk.subarray(off)]));
        return;
      }
    }
    const len = chunk.length;
    while (off + 5 <= len) {
      const total = 1 + chunk.readUInt32BE(off + 1);
      if (off + total > len) break;
      if (!this.frame(chunk, off, total)) {
        this.detach(chunk.subarray(off));
        return;
      }
      off += total;
    }
    // A copy, so the read's whole buffer is not kept alive by its last few bytes.
    if (off < len) this.rest = Buffer.from(chunk.subarray(off));
  };

  /** Handles one frame; false when it is not part of the COPY's data (pg takes it from there). */
  private frame(buf: Buffer, off: number, total: number): boolean {
    const code = buf[off];
    if (code === COPY_DATA) {
      this.onRow(buf, off + 5, off + total);
      return true;
    }
    return code === COPY_OUT_RESPONSE;
  }
}
