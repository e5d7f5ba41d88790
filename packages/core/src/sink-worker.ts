/**
 * Drives one sink: batches in order, one write at a time, retries with backoff for retriable failures,
 * then the dead-letter sink (if any), then a fatal error. It never skips a batch: either the sink (or its
 * dead-letter sink) holds it, or the pipeline stops.
 */
import { describe, isRetriable, RetriesExhaustedError, toWalstreamError, WalstreamError } from './errors.js';
import type { Batch } from './event.js';
import { faultPoint } from './fault.js';
import type { Sink } from './interfaces.js';
import { backoffDelay, type ResolvedRetry, sleep } from './retry.js';

export type SinkState = 'idle' | 'writing' | 'retrying' | 'failed' | 'closed';

export interface SinkWorkerHooks {
  written(worker: SinkWorker, batch: Batch): void;
  retrying(worker: SinkWorker, attempt: number, delayMs: number, error: WalstreamError): void;
  deadLettered(worker: SinkWorker, batch: Batch, error: WalstreamError): void;
  failed(worker: SinkWorker, error: WalstreamError): void;
}

export class SinkWorker {
  private readonly queue: Batch[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
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
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  enqueue(batch: Batch): void {
    this.queue.push(batch);
    if (!this.running) void this.run();
  }

  /** Resolves when the queue is empty and no write is under way (or the worker failed). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && this.state !== 'failed') {
        const batch = this.queue[0] as Batch;
        const ok = await this.deliver(batch);
        if (!ok) break;
        this.queue.shift();
        this.eventsOut += batch.events.length;
        this.batchesOut++;
        this.hooks.written(this, batch);
      }
    } finally {
      this.running = false;
      this.writingSince = null;
      if (this.state !== 'failed') this.state = 'idle';
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** True when the batch is durable in the sink or its dead-letter sink. */
  private async deliver(batch: Batch): Promise<boolean> {
    this.writingSince = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) return false;
      this.state = 'writing';
      try {
        await this.sink.write(batch, { signal: this.signal });
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
        await dlq.write(batch, { signal: this.signal });
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
