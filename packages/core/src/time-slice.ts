/**
 * A budget of synchronous work between event-loop turns. A loop that drains a backlog in microtasks (a full
 * frame queue, a large batch to encode) keeps the event loop for as long as the backlog lasts: timers,
 * acknowledgements and other sockets wait. The loop asks `spent()` every few items (reading the clock per item
 * would cost more than some items) and, when it is, awaits `yieldTurn()`.
 */
export class TimeSlice {
  private since = performance.now();

  constructor(readonly budgetMs: number) {}

  /** True once the stretch since the last turn has used the budget (reads the clock: sample, do not call per item). */
  spent(): boolean {
    return performance.now() - this.since >= this.budgetMs;
  }

  /** The event loop just had a turn anyway (the loop waited for I/O): the stretch starts again. */
  restart(): void {
    this.since = performance.now();
  }

  /** One turn (setImmediate: after pending I/O callbacks), then a new stretch. */
  async yieldTurn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.restart();
  }
}
