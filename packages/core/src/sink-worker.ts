/**
 * Drives one sink: batches in order, one write at a time (or up to `sink.concurrentWrites`, completed in
 * order), retries with backoff for retriable failures, then the dead-letter sink (if any), then a fatal error.
 * It never skips a batch: either the sink (or its dead-letter sink) holds it, or the pipeline stops.
 */
import { describe, isRetriable, RetriesExhaustedError, toWalstreamError, WalstreamError } from './errors.js';
import type { Batch } from './event.js';
import { faultPoint } from './fault.js';
import type { Sink } from './interfaces.js';
import { backoffDelay, type ResolvedRetry, sleep } from './retry.js';
import { withWriteSignal } from './write-signal.js';

export type SinkState = 'idle' | 'writing' | 'retrying' | 'failed' | 'closed';

export interface SinkWorkerHooks {
  written(worker: SinkWorker, batch: Batch): void;
  retrying(worker: SinkWorker, attempt: number, delayMs: number, error: WalstreamError): void;
  deadLettered(worker: SinkWorker, batch: Batch, error: WalstreamError): void;
  failed(worker: SinkWorker, error: WalstreamError): void;
}

/** One write handed to the sink: settled with `done` or `error`, committed in batch order. */
interface Slot {
  readonly batch: Batch;
  readonly startedAt: number;
  done: boolean;
  error: unknown;
}

export class SinkWorker {
  /** Batches not yet written, oldest first; the first `slots.length` of them are being written. */
  private readonly queue: Batch[] = [];
  private readonly slots: Slot[] = [];
  private recovering = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  state: SinkState = 'idle';
  eventsOut = 0;
  batchesOut = 0;
  retries = 0;
  deadLettered = 0;
  writingSince: number | null = null;
  lastError: WalstreamError | null = null;

  constructor(
    readonly index: number,
    readonly sink: Sink,
    readonly deadLetter: Sink | undefined,
    private readonly retry: ResolvedRetry,
    private readonly signal: AbortSignal,
    private readonly hooks: SinkWorkerHooks,
  ) {
    const n = sink.concurrentWrites ?? 1;
    this.concurrency = Number.isInteger(n) && n > 1 ? n : 1;
  }

  get queued(): number {
    return this.queue.length;
  }

  enqueue(batch: Batch): void {
    this.queue.push(batch);
    this.pump();
  }

  /** Resolves when the queue is empty and no write is under way (or the worker failed). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get busy(): boolean {
    return this.slots.length > 0 || this.recovering;
  }

  /**
   * Starts writes in batch order while fewer than `concurrency` are under way. A batch counts as written
   * (the `written` hook, in order) only when it and every batch before it resolved.
   */
  private pump(): void {
    if (this.state !== 'failed' && !this.recovering && !this.signal.aborted) {
      while (this.slots.length < this.concurrency && this.slots.length < this.queue.length) {
        const slot: Slot = {
          batch: this.queue[this.slots.length] as Batch,
          startedAt: Date.now(),
          done: false,
          error: null,
        };
        this.slots.push(slot);
        this.state = 'writing';
        this.writingSince ??= slot.startedAt;
        let p: Promise<void>;
        try {
          p = withWriteSignal(this.signal, (signal) => this.sink.write(slot.batch, { signal }));
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(
          () => {
            faultPoint('after_sink_write_before_ack');
            slot.done = true;
            this.settled();
          },
          (err: unknown) => {
            slot.error = err ?? new Error('write rejected without a reason');
            this.settled();
          },
        );
      }
    }
    this.checkIdle();
  }

  private settled(): void {
    this.commitPrefix();
    if (this.slots.some((s) => s.error !== null)) {
      // A failure: start nothing new, and once every write under way has settled, retry in batch order.
      if (this.slots.every((s) => s.done || s.error !== null)) void this.recover();
      return;
    }
    this.pump();
  }

  /** Counts the leading resolved writes, in order. */
  private commitPrefix(): void {
    while (this.slots.length > 0 && (this.slots[0] as Slot).done) {
      const slot = this.slots.shift() as Slot;
      this.queue.shift();
      this.eventsOut += slot.batch.events.length;
      this.batchesOut++;
      this.hooks.written(this, slot.batch);
    }
    this.writingSince = this.slots.length > 0 ? (this.slots[0] as Slot).startedAt : null;
  }

  /**
   * After a failed write with others under way: one batch at a time, oldest first, each failed one retried
   * (backoff, dead-letter, fatal) before the next counts. A later batch that had resolved counts after the
   * earlier ones; it is not written again.
   */
  private async recover(): Promise<void> {
    this.recovering = true;
    try {
      while (this.slots.length > 0) {
        const slot = this.slots[0] as Slot;
        if (!slot.done) {
          this.writingSince = Date.now();
          const ok = await this.deliver(slot.batch, slot.error);
          if (!ok) {
            // Failed for good or aborted: nothing after it may count.
            this.slots.length = 0;
            break;
          }
          slot.done = true;
        }
        this.commitPrefix();
      }
    } finally {
      this.recovering = false;
      this.writingSince = null;
      if (this.state !== 'failed') this.state = 'idle';
    }
    this.pump();
  }

  private checkIdle(): void {
    if (this.busy) return;
    this.writingSince = null;
    if (this.state !== 'failed') this.state = 'idle';
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** True when the batch is durable in the sink or its dead-letter sink. `failed`: the first attempt's error. */
  private async deliver(batch: Batch, failed: unknown): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) return false;
      this.state = 'writing';
      try {
        if (attempt === 1) throw failed;
        await withWriteSignal(this.signal, (signal) => this.sink.write(batch, { signal }));
        faultPoint('after_sink_write_before_ack');
        return true;
      } catch (thrown) {
        if (this.signal.aborted) return false;
        const err = toWalstreamError(thrown);
        this.lastError = err;
        const exhausted = !isRetriable(err) || attempt >= this.retry.maxAttempts;
        if (!exhausted) {
          // A destination's own Retry-After wins over a shorter backoff (capped by maxDelayMs).
          const delay = Math.max(
            backoffDelay(this.retry, attempt),
            Math.min(err.retryAfterMs ?? 0, this.retry.maxDelayMs),
          );
          this.state = 'retrying';
          this.retries++;
          this.hooks.retrying(this, attempt, delay, err);
          try {
            await sleep(delay, this.signal);
          } catch {
            return false;
          }
          continue;
        }
        const final = isRetriable(err) ? new RetriesExhaustedError(this.sink.name, attempt, err) : err;
        if (this.deadLetter && (await this.toDeadLetter(batch, final))) return true;
        this.fail(final);
        return false;
      }
    }
  }

  /** The dead-letter write gets the same retries as a sink write; a dead-lettered batch counts as delivered. */
  private async toDeadLetter(batch: Batch, error: WalstreamError): Promise<boolean> {
    const dlq = this.deadLetter as Sink;
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) return false;
      try {
        await withWriteSignal(this.signal, (signal) => dlq.write(batch, { signal }));
        break;
      } catch (dlqErr) {
        if (this.signal.aborted) return false;
        const err = toWalstreamError(dlqErr);
        if (isRetriable(err) && attempt < this.retry.maxAttempts) {
          const delay = Math.max(
            backoffDelay(this.retry, attempt),
            Math.min(err.retryAfterMs ?? 0, this.retry.maxDelayMs),
          );
          this.retries++;
          this.hooks.retrying(this, attempt, delay, err);
          try {
            await sleep(delay, this.signal);
          } catch {
            return false;
          }
          continue;
        }
        this.fail(
          new WalstreamError(
            error.code,
            `${error.message}; dead-letter sink ${dlq.name} failed too after ${attempt} attempts: ${describe(dlqErr)}`,
            { cause: error },
          ),
        );
        return false;
      }
    }
    this.deadLettered += batch.events.length;
    this.hooks.deadLettered(this, batch, error);
    return true;
  }

  private fail(error: WalstreamError): void {
    this.state = 'failed';
    this.lastError = error;
    this.hooks.failed(this, error);
  }
}
