/** Tells the reader the committed position: calls are serialised and coalesced, and a failed ack is only logged. */
import { describe } from './errors.js';
import { faultPoint } from './fault.js';
import type { LogReader } from './interfaces.js';
import type { Logger } from './logger.js';
import type { Position } from './position.js';

export class Acker {
  acked: Position | null = null;
  private run: Promise<void> | null = null;
  private pending = false;

  constructor(
    private readonly reader: LogReader,
    private readonly committed: () => Position | null,
    private readonly log: Logger,
    /** Called after each successful ack (the pipeline reports snapshot progress then). */
    private readonly onAcked: () => void = () => {},
  ) {}

  /** Acks the latest committed position (now or right after the ack under way). */
  schedule(): Promise<void> {
    if (this.run !== null) {
      this.pending = true;
      return this.run;
    }
    this.run = (async () => {
      do {
        this.pending = false;
        const p = this.committed();
        if (p === null || p === this.acked) continue;
        try {
          await this.reader.ack(p);
          faultPoint('after_ack');
          this.acked = p;
          this.onAcked();
        } catch (err) {
          // The reader sends its latest ack again on its next status update; nothing is lost.
          this.log.warn('reader ack failed', { error: describe(err) });
        }
      } while (this.pending);
      this.run = null;
    })();
    return this.run;
  }

  /** Waits for the ack under way, then acks the latest committed position once more. */
  async flush(): Promise<void> {
    while (this.run !== null) await this.run;
    await this.schedule();
  }
}
