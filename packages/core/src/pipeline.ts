/**
 * The Pipeline: pulls items from a LogReader, cuts batches (events, bytes, time), hands every batch to every
 * sink in order, and tells the reader the position every sink durably holds (see commit-tracker.ts).
 *
 * Roles: batcher.ts cuts batches and marks transaction ends, sink-worker.ts drives each sink, commit-tracker.ts
 * decides what is confirmed, acker.ts tells the reader. This file owns the life cycle: start, read loop, stop.
 *
 * Backpressure is pull-based: when the in-flight byte budget is full the read loop stops calling `next()`,
 * so the reader stops pulling from its source; it keeps its own connection alive (status updates).
 */
import { Acker } from './acker.js';
import { Batcher } from './batcher.js';
import { settleWithin, withTimeout } from './bounded.js';
import { CommitTracker } from './commit-tracker.js';
import { Emitter } from './emitter.js';
import { describe, ErrorCode, SinkError, toWalstreamError, WalstreamError } from './errors.js';
import type { Batch, ReaderItem } from './event.js';
import type { LogReader, Sink, SinkContext } from './interfaces.js';
import { type Logger, silentLogger } from './logger.js';
import {
  type PipelineConfig,
  type PipelineOptions,
  type ResolvedPipelineOptions,
  resolvePipelineOptions,
} from './pipeline-config.js';
import type { Pipeline, PipelineEventType, PipelineListener, PipelineState, PipelineStatus } from './pipeline-types.js';
import type { Position } from './position.js';
import { SinkWorker } from './sink-worker.js';

/** Reading runs at most this long before the event loop gets a turn (see runReadLoop). */
const READ_SLICE_MS = 25;

/** Creates a pipeline; validates options (ConfigError names the bad field). Call `start()` to run it. */
export function createPipeline(options: PipelineOptions): Pipeline {
  return new PipelineImpl(resolvePipelineOptions(options));
}

/** Stream-style positional form of createPipeline. */
export function NewPipeline(
  name: string,
  reader: PipelineOptions['reader'],
  sinks: PipelineOptions['sinks'],
  config: PipelineConfig = {},
): Pipeline {
  return createPipeline({ ...config, name, reader, sinks });
}

class PipelineImpl implements Pipeline {
  readonly name: string;
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private state: PipelineState = 'idle';
  private readonly log: Logger;
  private readonly emitter: Emitter;
  private readonly tracker: CommitTracker;
  private readonly batcher: Batcher;
  private readonly acker: Acker;
  private readonly workers: SinkWorker[];
  /** Aborts sink writes and retry sleeps: only on failure or after the drain timeout. */
  private readonly hardAbort = new AbortController();
  /** Ends the reader's iteration. */
  private readonly readAbort = new AbortController();
  private error: WalstreamError | null = null;
  private stopping = false;
  private shutdown: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  private readLoop: Promise<void> = Promise.resolve();
  private inFlightBytes = 0;
  private roomWaiter: (() => void) | null = null;
  private lastSnapshotSig = '';
  private lastCommitted: Position | null = null;

  constructor(private readonly o: ResolvedPipelineOptions) {
    this.name = o.name;
    this.log = o.logger ?? silentLogger;
    this.emitter = new Emitter((err) => this.log.error('pipeline listener threw', { error: describe(err) }));
    this.tracker = new CommitTracker(o.sinks.length);
    this.batcher = new Batcher(o, (batch) => this.dispatch(batch), o.reader.commitMarkers === true);
    this.acker = new Acker(
      o.reader,
      () => this.tracker.committed,
      this.log,
      () => this.emitSnapshotProgress(),
    );
    const hooks = {
      written: (w: SinkWorker, batch: { seq: number }) => this.onWritten(w.index, batch.seq),
      retrying: (w: SinkWorker, attempt: number, delayMs: number, error: WalstreamError) => {
        this.log.warn('sink write failed, retrying', { sink: w.sink.name, attempt, delayMs, error: error.message });
        this.emitter.emit({ type: 'retrying', sink: w.sink.name, attempt, delayMs, error });
      },
      deadLettered: (w: SinkWorker, batch: { events: readonly unknown[] }, error: WalstreamError) => {
        this.log.error('batch sent to dead-letter sink', { sink: w.sink.name, events: batch.events.length });
        this.emitter.emit({ type: 'dead-letter', sink: w.sink.name, events: batch.events.length, error });
      },
      failed: (_w: SinkWorker, error: WalstreamError) => this.fail(error),
    };
    this.workers = o.sinks.map(
      (s, i) => new SinkWorker(i, s.sink, s.deadLetter, s.retry, this.hardAbort.signal, hooks),
    );
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Callers that only use stop() and status() must not see an unhandled rejection.
    this.done.catch(() => {});
    o.signal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  /** The caller's signal may outlive this pipeline (one signal for many): the listener goes when it stops. */
  private readonly onUserAbort = () => void this.stop();

  on<T extends PipelineEventType>(type: T, listener: PipelineListener<T>): () => void {
    return this.emitter.on(type, listener);
  }

  start(): Promise<void> {
    if (this.state !== 'idle') {
      return Promise.reject(new WalstreamError(ErrorCode.Config, `pipeline ${this.name} was already started`));
    }
    if (this.o.signal?.aborted) {
      return Promise.reject(new WalstreamError(ErrorCode.Stopped, 'the pipeline signal is already aborted'));
    }
    this.starting = this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    this.state = 'starting';
    const ctx: SinkContext = {
      pipeline: this.name,
      logger: this.log,
      signal: this.hardAbort.signal,
      sourceId: () => this.o.reader.sourceId ?? null,
      source: () => this.o.reader.sourceStart ?? null,
    };
    const opened: Sink[] = [];
    try {
      // Before the sinks: one that holds a position must know whether the reader starts a fresh slot, and refuse
      // before the slot is created (a created slot would let a restart pass silently). prepare() changes nothing.
      await this.o.reader.prepare?.({ signal: this.readAbort.signal });
      for (const w of this.workers) {
        for (const s of w.deadLetter ? [w.sink, w.deadLetter] : [w.sink]) {
          await s.open?.(ctx);
          opened.push(s);
        }
      }
      const reader = this.o.reader as { open?: (o: { signal: AbortSignal }) => Promise<void> };
      await reader.open?.({ signal: this.readAbort.signal });
    } catch (thrown) {
      const err = toWalstreamError(thrown);
      this.error = err;
      this.state = 'failed';
      const bound = this.o.drainTimeoutMs;
      await Promise.all([
        ...opened.map((s) => settleWithin(() => s.close?.(), bound)),
        settleWithin(() => this.o.reader.close(), bound),
      ]);
      this.o.signal?.removeEventListener('abort', this.onUserAbort);
      this.settle.reject(err);
      throw err;
    }
    this.state = 'running';
    this.log.info('pipeline started', { pipeline: this.name, sinks: this.workers.length });
    this.emitter.emit({ type: 'started' });
    this.readLoop = this.runReadLoop();
  }

  stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.settle.resolve();
      return Promise.resolve();
    }
    if (this.shutdown === null && (this.state === 'failed' || this.state === 'stopped')) return Promise.resolve();
    if (this.state === 'starting') {
      // Let start() finish (or fail) before draining.
      return (this.starting as Promise<void>).then(
        () => this.stop(),
        () => undefined,
      );
    }
    return this.beginShutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  status(): PipelineStatus {
    const now = Date.now();
    const committed = this.tracker.committed;
    const received = this.batcher.received;
    const lag = received && committed && received.lsn > committed.lsn ? received.lsn - committed.lsn : 0n;
    return {
      name: this.name,
      state: this.state,
      eventsIn: this.batcher.eventsIn,
      eventsDropped: this.batcher.eventsDropped,
      batches: this.batcher.seq,
      inFlightBytes: this.inFlightBytes,
      backpressure: this.roomWaiter !== null,
      committed,
      received,
      lagBytes: Number(lag),
      lastHeartbeatAt: this.batcher.lastHeartbeatAt,
      snapshot: this.o.reader.snapshotProgress?.() ?? [],
      error: this.error,
      sinks: this.workers.map((w) => ({
        name: w.sink.name,
        state: w.state,
        eventsOut: w.eventsOut,
        batchesOut: w.batchesOut,
        retries: w.retries,
        deadLettered: w.deadLettered,
        queuedBatches: w.queued,
        writingForMs: w.writingSince === null ? null : now - w.writingSince,
        lastError: w.lastError,
      })),
    };
  }

  private async runReadLoop(): Promise<void> {
    let iter: AsyncIterator<unknown> | undefined;
    try {
      // Inside the try: a reader whose read() throws synchronously fails the pipeline like any read error.
      const reader = this.o.reader;
      const runs = typeof reader.readRuns === 'function';
      const source = runs
        ? (reader.readRuns as NonNullable<LogReader['readRuns']>).call(reader, { signal: this.readAbort.signal })
        : reader.read({ signal: this.readAbort.signal });
      iter = source[Symbol.asyncIterator]();
      // A graceful stop lets the source transaction being read finish (see runShutdown); the rest of a run is
      // dropped then, as a reader drops what it decoded but did not hand out.
      let sliceStart = performance.now();
      let sinceCheck = 0;
      read: while (this.mayRead()) {
        const r = await iter.next();
        if (r.done) break;
        // A reader with data queued answers next() in a microtask, so reading could hold the event loop until
        // the in-flight budget is full: tens of ms while the code is still cold, when timers, sockets and the
        // sinks' acks wait. Give the loop a turn once a slice of reading has run.
        if (++sinceCheck >= (runs ? 1 : 256)) {
          sinceCheck = 0;
          const now = performance.now();
          if (now - sliceStart >= READ_SLICE_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            sliceStart = performance.now();
          }
        }
        if (!runs) {
          this.inFlightBytes += this.batcher.accept(r.value as ReaderItem);
          if (this.inFlightBytes >= this.o.maxInFlightBytes) await this.waitForRoom();
          continue;
        }
        const items = r.value as readonly ReaderItem[];
        for (let i = 0; i < items.length; i++) {
          if (!this.mayRead()) break read;
          this.inFlightBytes += this.batcher.accept(items[i] as ReaderItem);
          if (this.inFlightBytes >= this.o.maxInFlightBytes) await this.waitForRoom();
        }
      }
    } catch (thrown) {
      if (!this.stopping) this.fail(toWalstreamError(thrown, ErrorCode.Reader));
    }
    if (this.stopping) {
      const it = iter;
      if (it?.return) await settleWithin(() => it.return?.(), this.o.drainTimeoutMs);
      return;
    }
    // The reader ended on its own: drain and stop cleanly.
    void this.beginShutdown();
  }

  /** Reading goes on until a stop, and during a graceful stop until the open source transaction has ended. */
  private mayRead(): boolean {
    return !this.stopping || (this.error === null && this.batcher.inTransaction && !this.readAbort.signal.aborted);
  }

  private dispatch(batch: Batch): void {
    this.tracker.addBatch(batch.seq, batch.bytes);
    for (const c of batch.commits) this.tracker.addCheckpoint(c.position, batch.seq);
    for (const w of this.workers) w.enqueue(batch);
  }

  private waitForRoom(): Promise<void> {
    // The open batch must reach the sinks, or the room we wait for never comes. It is cut where a restart cuts it
    // too: inside a slice of a source transaction, reading goes on to the slice's end (one slice over the budget at
    // most), unless that slice alone outgrows the budget.
    if (!this.batcher.cut()) {
      if (this.batcher.bytes < this.o.maxInFlightBytes) return Promise.resolve();
      this.batcher.flush();
    }
    if (this.inFlightBytes < this.o.maxInFlightBytes || this.stopping) return Promise.resolve();
    this.log.debug('backpressure on', { inFlightBytes: this.inFlightBytes });
    this.emitter.emit({ type: 'backpressure', active: true, inFlightBytes: this.inFlightBytes });
    return new Promise<void>((resolve) => {
      this.roomWaiter = () => {
        this.roomWaiter = null;
        this.emitter.emit({ type: 'backpressure', active: false, inFlightBytes: this.inFlightBytes });
        resolve();
      };
    });
  }

  private onWritten(sink: number, seq: number): void {
    // A batch of commit markers alone releases no bytes but may still move the confirmed position.
    const released = this.tracker.markWritten(sink, seq);
    this.inFlightBytes -= released;
    if (this.roomWaiter !== null && this.inFlightBytes < this.o.maxInFlightBytes) this.roomWaiter();
    const committed = this.tracker.committed;
    if (committed !== null && committed !== this.lastCommitted) {
      this.lastCommitted = committed;
      this.emitter.emit({ type: 'committed', position: committed });
    }
    if (committed !== null && committed !== this.acker.acked) void this.acker.schedule();
  }

  /** After an ack, a reader that copies existing rows may report new progress. */
  private emitSnapshotProgress(): void {
    const tables = this.o.reader.snapshotProgress?.();
    if (tables === undefined || tables.length === 0) return;
    let sig = '';
    for (const t of tables) sig += `${t.snapshotId}\0${t.table}\0${t.state}\0${t.rowsDone}\n`;
    if (sig === this.lastSnapshotSig) return;
    this.lastSnapshotSig = sig;
    this.emitter.emit({ type: 'snapshot', tables });
  }

  private fail(error: WalstreamError): void {
    if (this.error === null) {
      this.error = error;
      this.log.error('pipeline failed', { pipeline: this.name, code: error.code, error: error.message });
      this.emitter.emit({ type: 'error', error });
    }
    this.hardAbort.abort();
    void this.beginShutdown();
  }

  private beginShutdown(): Promise<void> {
    if (this.shutdown === null) this.shutdown = this.runShutdown();
    return this.shutdown;
  }

  /**
   * Every wait here is bounded by drainTimeoutMs: a reader or sink that ignores its signal, or whose close
   * hangs or throws, still lets `done` settle (with a typed error), and the reader is always closed.
   */
  private async runShutdown(): Promise<void> {
    this.stopping = true;
    this.state = 'stopping';
    const bound = this.o.drainTimeoutMs;
    const deadline = Date.now() + bound;
    const timeLeft = () => Math.max(0, deadline - Date.now());
    if (this.error === null && this.batcher.inTransaction) {
      // Read on to the end of the source transaction under way: everything read is then confirmed at stop, and a
      // restart delivers nothing twice. Bounded: a transaction that never ends is cut at half the drain time.
      if (!(await withTimeout(this.readLoop, Math.floor(bound / 2)))) {
        this.log.warn('stopped in the middle of a source transaction', { pipeline: this.name });
      }
    }
    this.readAbort.abort();
    this.roomWaiter?.();
    if (!(await withTimeout(this.readLoop, timeLeft()))) {
      this.log.warn('reader did not end its iteration after abort', { pipeline: this.name });
    }
    if (this.error === null) {
      // Only whole transactions (and the parts of a large one already handed out) go to the sinks at a stop.
      this.inFlightBytes -= this.batcher.dropOpenTransaction();
      this.batcher.flush();
    }
    this.batcher.clearTimer();
    const drained = await withTimeout(Promise.all(this.workers.map((w) => w.idle())), timeLeft());
    if (!drained) {
      this.log.warn('drain timed out; aborting sink writes', { pipeline: this.name, drainTimeoutMs: bound });
      this.hardAbort.abort();
      const stuck: string[] = [];
      await Promise.all(
        this.workers.map(async (w) => {
          if (!(await withTimeout(w.idle(), bound))) stuck.push(w.sink.name);
        }),
      );
      if (stuck.length > 0) {
        this.recordError(
          new SinkError(
            `sink ${stuck.join(', ')} ignored its abort signal: a write was still running ${bound} ms after the abort`,
          ),
        );
      }
    }
    if (!(await withTimeout(this.acker.flush(), bound))) {
      this.log.warn('reader ack did not settle', { pipeline: this.name });
    }
    const closing = this.workers.flatMap((w) => (w.deadLetter ? [w.sink, w.deadLetter] : [w.sink]));
    const closed = await Promise.all(closing.map((s) => settleWithin(() => s.close?.(), bound)));
    closed.forEach((r, i) => {
      if (r === true) return;
      const name = (closing[i] as Sink).name;
      const why = r === 'timeout' ? `did not finish within ${bound} ms` : `failed: ${describe(r.error)}`;
      this.log.warn('sink close failed', { sink: name, error: why });
      this.recordError(new SinkError(`sink ${name} close ${why}`, { cause: r === 'timeout' ? undefined : r.error }));
    });
    const readerClosed = await settleWithin(() => this.o.reader.close(), bound);
    if (readerClosed !== true) {
      const why = readerClosed === 'timeout' ? `did not finish within ${bound} ms` : describe(readerClosed.error);
      this.log.warn('reader close failed', { error: why });
    }
    this.o.signal?.removeEventListener('abort', this.onUserAbort);
    this.state = this.error === null ? 'stopped' : 'failed';
    this.log.info('pipeline stopped', { pipeline: this.name, failed: this.error !== null });
    this.emitter.emit({ type: 'stopped', error: this.error });
    if (this.error === null) this.settle.resolve();
    else this.settle.reject(this.error);
  }

  /** Keeps the first error as the pipeline's error (a later one is only logged above). */
  private recordError(error: WalstreamError): void {
    if (this.error !== null) return;
    this.error = error;
    this.emitter.emit({ type: 'error', error });
  }
}
