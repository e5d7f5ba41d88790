/**
 * Frames received from the socket and not yet decoded. Bounded in bytes: past the limit the socket is
 * paused (the server's data stays in kernel buffers and on the server); below half of it, resumed.
 */
export class FrameQueue {
  private items: Buffer[] = [];
  private head = 0;
  bytes = 0;
  paused = false;
  private ended = false;
  endError: Error | null = null;
  private waiter: ((outcome: 'data' | 'woken' | 'ended') => void) | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly socket: { pause(): void; resume(): void },
  ) {}

  get empty(): boolean {
    return this.head === this.items.length;
  }

  push(frame: Buffer): void {
    this.items.push(frame);
    this.bytes += frame.length;
    if (!this.paused && this.bytes >= this.maxBytes) {
      this.paused = true;
      this.socket.pause();
    }
    this.notify('data');
  }

  shift(): Buffer | null {
    if (this.head === this.items.length) return null;
    const f = this.items[this.head] as Buffer;
    this.items[this.head++] = undefined as unknown as Buffer;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    this.bytes -= f.length;
    if (this.paused && this.bytes < this.maxBytes / 2) {
      this.paused = false;
      this.socket.resume();
    }
    return f;
  }

  /** The stream ended (error null: cleanly). Queued frames are still handed out first. */
  end(error: Error | null): void {
    this.ended = true;
    this.endError = error;
    this.notify('ended');
  }

  /** Resolves when a frame arrives, the stream ends, or wake() is called. */
  wait(): Promise<'data' | 'woken' | 'ended'> {
    if (!this.empty) return Promise.resolve('data');
    if (this.ended) return Promise.resolve('ended');
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wake(): void {
    this.notify('woken');
  }

  /** Forget everything (before a reconnect). */
  reset(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.paused = false;
    this.ended = false;
    this.endError = null;
  }

  private notify(outcome: 'data' | 'woken' | 'ended'): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    w(outcome);
  }
}
