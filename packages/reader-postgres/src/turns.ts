/**
 * Event-loop turns while the reader decodes a backlog. A full frame queue drains in microtasks only (each
 * `next()` of the consumer resolves at once), so without turns a catch-up keeps the event loop for as long as the
 * queue lasts (megabytes of frames: hundreds of ms): sinks' acknowledgements, timers and status updates wait.
 */
import { TimeSlice } from '@walstream/core/internal';

/** Longest stretch of decoding without a turn. */
export const TURN_EVERY_MS = 5;

export class Turns {
  private frames = 0;
  private readonly slice = new TimeSlice(TURN_EVERY_MS);

  /** True when a turn is due; cheap enough to call once per frame (the clock is read every 64 frames). */
  due(): boolean {
    return (++this.frames & 63) === 0 && this.slice.spent();
  }

  /** The event loop just had a turn anyway (the consumer waited for data): the stretch starts again. */
  restart(): void {
    this.slice.restart();
  }

  /**
   * One turn. The socket is held meanwhile, unless the queue paused it already: other I/O is served, but the
   * queue does not fill up behind the decoder (read-ahead is memory).
   */
  async take(socket: { pause(): void; resume(): void } | null, queuePaused: () => boolean): Promise<void> {
    const hold = socket !== null && !queuePaused();
    if (hold) socket.pause();
    await this.slice.yieldTurn();
    if (hold && !queuePaused()) socket.resume();
  }
}
