/**
 * The Pipeline: pulls items from a LogReader, cuts batches (events, bytes, time), hands every batch to every
 * sink in order, and tells the reader the position every sink durably holds (see commit-tracker.ts).
 *
 * Backpressure is pull-based: when the in-flight byte budget is full the read loop stops calling `next()`,
 * so the reader stops pulling from its source; it keeps its own connection alive (status updates).
 */
import { CommitTracker } from './commit-tracker.js';
import { Emitter } from './emitter.js';
import { describe, ErrorCode, toWalstreamError, WalstreamError } from './errors.js';
import type { ChangeEvent, ReaderItem, SchemaChange, TransactionCommit } from './event.js';
import type { Sink, SinkContext } from './interfaces.js';
import { type Logger, silentLogger } from './logger.js';
import {
  type PipelineConfig,
  type PipelineOptions,
  type ResolvedPipelineOptions,
  resolvePipelineOptions,
} from './pipeline-config.js';
import type { Pipeline, PipelineEventType, PipelineListener, PipelineState, PipelineStatus } from './pipeline-types.js';
import { comparePositions, type Position } from './position.js';
import { SinkWorker } from './sink-worker.js';
import { estimateEventBytes } from './size.js';

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

  // The open batch.
  private events: ChangeEvent[] = [];
  private commits: TransactionCommit[] = [];
  private schemaChanges: SchemaChange[] = [];
  private openBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;

  // The source transaction being read, to close it when the next one starts without a commit marker.
  private txnLsn: bigint | null = null;
  private txnCount = 0;
  private received: Position | null = null;
  private receivedTxid = '';
  private receivedTs = '';
  private lastCheckpoint: Position | null = null;

  private inFlightBytes = 0;
  private roomWaiter: (() => void) | null = null;
  private eventsIn = 0;
  private eventsDropped = 0;
  private lastHeartbeatAt: string | null = null;

  private acked: Position | null = null;
  private ackRun: Promise<void> | null = null;
  private ackPending = false;

  constructor(private readonly o: ResolvedPipelineOptions) {
    this.name = o.name;
    this.log = o.logger ?? silentLogger;
    this.emitter = new Emitter((err) => this.log.error('pipeline listener threw', { error: describe(err) }));
    this.tracker = new CommitTracker(o.sinks.length);
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
    o.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

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
    };
    const opened: Sink[] = [];
    try {
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
      await Promise.allSettled([...opened.map((s) => s.close?.()), this.o.reader.close()]);
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
    const lag =
      this.received && committed && this.received.lsn > committed.lsn ? this.received.lsn - committed.lsn : 0n;
    return {
      name: this.name,
      state: this.state,
      eventsIn: this.eventsIn,
      eventsDropped: this.eventsDropped,
      batches: this.seq,
      inFlightBytes: this.inFlightBytes,
      backpressure: this.roomWaiter !== null,
      committed,
      received: this.received,
      lagBytes: Number(lag),
      lastHeartbeatAt: this.lastHeartbeatAt,
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
    const iter = this.o.reader.read({ signal: this.readAbort.signal })[Symbol.asyncIterator]();
    try {
      while (!this.stopping) {
        const r = await iter.next();
        if (r.done) break;
        this.accept(r.value);
        if (this.inFlightBytes >= this.o.maxInFlightBytes) await this.waitForRoom();
      }
    } catch (thrown) {
      if (!this.stopping) this.fail(toWalstreamError(thrown, ErrorCode.Reader));
    } finally {
      if (this.stopping) await iter.return?.()?.catch(() => {});
    }
    // The reader ended on its own: drain and stop cleanly.
    if (!this.stopping) void this.beginShutdown();
  }

  private accept(item: ReaderItem): void {
    switch ((item as { kind?: string }).kind) {
      case undefined:
        this.acceptEvent(item as ChangeEvent);
        return;
      case 'commit':
        this.acceptCommit(item as TransactionCommit);
        return;
      case 'schema':
        this.schemaChanges.push(item as SchemaChange);
        this.armTimer();
        return;
      case 'heartbeat':
        this.lastHeartbeatAt = (item as { timestamp: string }).timestamp;
        return;
      default:
        this.fail(new WalstreamError(ErrorCode.Reader, 'reader yielded an item of unknown kind'));
    }
  }

  private acceptEvent(e: ChangeEvent): void {
    const lsn = e.position.lsn;
    if (this.txnLsn !== lsn) {
      // A new transaction started without a commit marker for the previous one: that one is complete.
      if (this.txnLsn !== null) this.closeTransaction();
      this.txnLsn = lsn;
      this.txnCount = 0;
    }
    this.txnCount++;
    this.received = e.position;
    this.receivedTxid = e.transactionId;
    this.receivedTs = e.timestamp;
    this.eventsIn++;
    const t = this.o.transform === undefined ? e : this.o.transform(e);
    if (t === null) {
      this.eventsDropped++;
      return;
    }
    const size = estimateEventBytes(t);
    this.events.push(t);
    this.openBytes += size;
    this.inFlightBytes += size;
    if (this.events.length >= this.o.batch.maxEvents || this.openBytes >= this.o.batch.maxBytes) this.flush();
    else if (this.timer === null) this.armTimer();
  }

  private acceptCommit(c: TransactionCommit): void {
    if (this.txnLsn !== null && this.txnLsn <= c.position.lsn) this.txnLsn = null;
    if (this.received === null || comparePositions(c.position, this.received) > 0) this.received = c.position;
    this.addCommit(c);
  }

  private closeTransaction(): void {
    const last = this.received as Position;
    this.txnLsn = null;
    this.addCommit({
      kind: 'commit',
      position: last,
      transactionId: this.receivedTxid,
      timestamp: this.receivedTs,
      eventCount: this.txnCount,
    });
  }

  private addCommit(c: TransactionCommit): void {
    // A replayed transaction (reader reconnect) is delivered again but is no new checkpoint.
    if (this.lastCheckpoint !== null && comparePositions(c.position, this.lastCheckpoint) <= 0) return;
    this.lastCheckpoint = c.position;
    this.commits.push(c);
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.o.batch.maxWaitMs);
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.events.length === 0 && this.commits.length === 0 && this.schemaChanges.length === 0) return;
    const batch = {
      seq: ++this.seq,
      events: this.events,
      commits: this.commits,
      schemaChanges: this.schemaChanges,
      bytes: this.openBytes,
    };
    this.events = [];
    this.commits = [];
    this.schemaChanges = [];
    this.openBytes = 0;
    this.tracker.addBatch(batch.seq, batch.bytes);
    for (const c of batch.commits) this.tracker.addCheckpoint(c.position, batch.seq);
    for (const w of this.workers) w.enqueue(batch);
  }

  private waitForRoom(): Promise<void> {
    // The open batch must reach the sinks, or the room we wait for never comes.
    this.flush();
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
    const released = this.tracker.markWritten(sink, seq);
    if (released === 0) return;
    this.inFlightBytes -= released;
    if (this.roomWaiter !== null && this.inFlightBytes < this.o.maxInFlightBytes) this.roomWaiter();
    const committed = this.tracker.committed;
    if (committed !== null && committed !== this.acked) {
      this.emitter.emit({ type: 'committed', position: committed });
      this.scheduleAck();
    }
  }

  /** Tells the reader the committed position; calls are serialised and coalesced. */
  private scheduleAck(): Promise<void> {
    if (this.ackRun !== null) {
      this.ackPending = true;
      return this.ackRun;
    }
    this.ackRun = (async () => {
      do {
        this.ackPending = false;
        const p = this.tracker.committed;
        if (p === null || p === this.acked) continue;
        try {
          await this.o.reader.ack(p);
          this.acked = p;
        } catch (err) {
          // The reader sends its latest ack again on its next status update; nothing is lost.
          this.log.warn('reader ack failed', { error: describe(err) });
        }
      } while (this.ackPending);
      this.ackRun = null;
    })();
    return this.ackRun;
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

  private async runShutdown(): Promise<void> {
    this.stopping = true;
    this.state = 'stopping';
    this.readAbort.abort();
    this.roomWaiter?.();
    const deadline = Date.now() + this.o.drainTimeoutMs;
    const timeLeft = () => Math.max(0, deadline - Date.now());
    await withTimeout(this.readLoop, timeLeft());
    if (this.error === null) this.flush();
    const drained = await withTimeout(Promise.all(this.workers.map((w) => w.idle())), timeLeft());
    if (!drained) {
      this.log.warn('drain timed out; aborting sink writes', {
        pipeline: this.name,
        drainTimeoutMs: this.o.drainTimeoutMs,
      });
      this.hardAbort.abort();
      await Promise.all(this.workers.map((w) => w.idle()));
    }
    if (this.timer !== null) clearTimeout(this.timer);
    while (this.ackRun !== null) await this.ackRun;
    await this.scheduleAck();
    const closing = this.workers.flatMap((w) => (w.deadLetter ? [w.sink, w.deadLetter] : [w.sink]));
    for (const r of await Promise.allSettled(closing.map((s) => s.close?.()))) {
      if (r.status === 'rejected') this.log.warn('sink close failed', { error: describe(r.reason) });
    }
    try {
      await this.o.reader.close();
    } catch (err) {
      this.log.warn('reader close failed', { error: describe(err) });
    }
    this.state = this.error === null ? 'stopped' : 'failed';
    this.log.info('pipeline stopped', { pipeline: this.name, failed: this.error !== null });
    this.emitter.emit({ type: 'stopped', error: this.error });
    if (this.error === null) this.settle.resolve();
    else this.settle.reject(this.error);
  }
}

/** True when `p` settled within `ms`. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => {
    t = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(t);
  }
}
