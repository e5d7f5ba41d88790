/**
 * Event-loop turns while the reader decodes a backlog. A full frame queue drains in microtasks only (each
 * `next()` of the consumer resolves at once), so without turns a catch-up keeps the event loop for as long as the
 * queue lasts (megabytes of frames: hundreds of ms): sinks' acknowledgements, timers and status updates wait.
 */

/** Longest stretch of decoding without a turn. */
export const TURN_EVERY_MS = 5;

export class Turns {
  private frames = 0;
  private since = performance.now();

  /** True when a turn is due; cheap enough to call once per frame (the clock is read every 64 frames). */
  due(): boolean {
    return (++this.frames & 63) === 0 && performance.now() - this.since >= TURN_EVERY_MS;
  }

  /** The event loop just had a turn anyway (the consumer waited for data): the stretch starts again. */
  restart(): void {
    this.since = performance.now();
  }

  /**
   * One turn (setImmediate: after pending I/O callbacks). The socket is held meanwhile, unless the queue paused it
   * already: other I/O is served, but the queue does not fill up behind the decoder (read-ahead is memory).
   */
  async take(socket: { pause(): void; resume(): void } | null, queuePaused: () => boolean): Promise<void> {
    const hold = socket !== null && !queuePaused();
    if (hold) socket.pause();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (hold && !queuePaused()) socket.resume();
    this.restart();
  }
}
