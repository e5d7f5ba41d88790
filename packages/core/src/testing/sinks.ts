/** Hand-written sinks for tests: memory, failing, slow, and a controlled sink the test completes by hand. */
import { ErrorCode, SinkError, WalstreamError } from '../errors.js';
import type { Batch, ChangeEvent } from '../event.js';
import type { Sink, SinkWriteOptions } from '../interfaces.js';

export interface MemorySink extends Sink {
  readonly events: ChangeEvent[];
  readonly batches: Batch[];
  readonly closed: boolean;
}

/** Keeps every written batch in memory. */
export function createMemorySink(name = 'memory'): MemorySink {
  const events: ChangeEvent[] = [];
  const batches: Batch[] = [];
  let closed = false;
  return {
    name,
    events,
    batches,
    get closed() {
      return closed;
    },
    async write(batch) {
      if (closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${name} is closed`);
      batches.push(batch);
      for (const e of batch.events) events.push(e);
    },
    async close() {
      closed = true;
    },
  };
}

export interface FailingSinkOptions {
  name?: string;
  /** Fail this many writes, then succeed (Infinity: always fail). @default Infinity */
  failures?: number;
  /** Whether the thrown error is retriable. @default true */
  retriable?: boolean;
  /** Receives the writes that succeed. @default a memory sink */
  inner?: MemorySink;
}

export interface FailingSink extends MemorySink {
  readonly attempts: number;
}

/** Fails its first `failures` writes with a SinkError, then writes to a memory sink. */
export function createFailingSink(options: FailingSinkOptions = {}): FailingSink {
  const name = options.name ?? 'failing';
  const inner = options.inner ?? createMemorySink(name);
  const failures = options.failures ?? Number.POSITIVE_INFINITY;
  let attempts = 0;
  return {
    name,
    get events() {
      return inner.events;
    },
    get batches() {
      return inner.batches;
    },
    get closed() {
      return inner.closed;
    },
    get attempts() {
      return attempts;
    },
    async write(batch, opts) {
      attempts++;
      if (attempts <= failures) {
        throw new SinkError(`injected failure ${attempts}`, { retriable: options.retriable ?? true });
      }
      await inner.write(batch, opts);
    },
    close: () => (inner.close as () => Promise<void>)(),
  };
}

/** Resolves each write after `delayMs` (honours the abort signal). */
export function createSlowSink(delayMs: number, name = 'slow'): MemorySink {
  const inner = createMemorySink(name);
  return Object.assign(Object.create(inner) as MemorySink, {
    name,
    async write(batch: Batch, opts: SinkWriteOptions) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(t);
          reject(new WalstreamError(ErrorCode.Stopped, 'aborted'));
        };
        // The listener goes with the write: one per write would pile up on the pipeline's long-lived signal.
        const t = setTimeout(() => {
          opts.signal.removeEventListener('abort', onAbort);
          resolve();
        }, delayMs);
        opts.signal.addEventListener('abort', onAbort, { once: true });
      });
      await inner.write(batch, opts);
    },
  });
}

export interface PendingWrite {
  readonly batch: Batch;
  readonly signal: AbortSignal;
  resolve(): void;
  reject(error: unknown): void;
}

export interface ControlledSink extends MemorySink {
  /** Writes under way, oldest first. */
  readonly pending: PendingWrite[];
  /** Resolves with the next write to arrive (or the oldest pending one). */
  nextWrite(): Promise<PendingWrite>;
}

/**
 * Every write waits until the test resolves or rejects it, so tests decide completion order without timers.
 * A resolved write lands in `events`/`batches`.
 */
export function createControlledSink(name = 'controlled'): ControlledSink {
  const inner = createMemorySink(name);
  const pending: PendingWrite[] = [];
  const arrived: PendingWrite[] = []; // not yet handed to the test
  const waiters: ((w: PendingWrite) => void)[] = [];
  const settle = (w: PendingWrite) => pending.splice(pending.indexOf(w), 1);
  return Object.assign(Object.create(inner) as MemorySink, {
    name,
    pending,
    nextWrite(): Promise<PendingWrite> {
      const w = arrived.shift();
      return w ? Promise.resolve(w) : new Promise<PendingWrite>((r) => waiters.push(r));
    },
    write(batch: Batch, opts: SinkWriteOptions): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const w: PendingWrite = {
          batch,
          signal: opts.signal,
          resolve: () => {
            settle(w);
            inner.write(batch, opts).then(resolve, reject);
          },
          reject: (err) => {
            settle(w);
            reject(err);
          },
        };
        pending.push(w);
        const waiter = waiters.shift();
        if (waiter) waiter(w);
        else arrived.push(w);
      });
    },
  });
}
