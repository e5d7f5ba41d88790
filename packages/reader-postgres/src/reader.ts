/**
 * The Postgres LogReader. It confirms to Postgres only positions the consumer acknowledged (mapped from a
 * transaction's commit LSN to its end LSN), sends status updates on a timer and whenever the server asks,
 * pauses the socket when its queue is full, and reconnects from the slot after a lost connection.
 */

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ErrorCode,
  formatLsn,
  isRetriable,
  type Logger,
  type Lsn,
  type Position,
  type ReaderItem,
  type ReadOptions,
  type SourceStart,
  silentLogger,
  type TableSnapshotProgress,
  toWalstreamError,
  WalstreamError,
} from '@walstream/core';
import { faultPoint, settleWithin, withConnectReason } from '@walstream/core/internal';
import pg from 'pg';
import { ChangeDecoder } from './change-decoder.js';
import { ConfirmLedger } from './confirm-ledger.js';
import { ConnectionError } from './errors.js';
import { FrameQueue } from './frame-queue.js';
import { type PostgresReaderOptions, type ResolvedReaderOptions, resolveReaderOptions } from './options.js';
import { PreparedWarnings } from './prepared-warnings.js';
import type { PostgresReader, PostgresReaderStatus } from './reader-types.js';
import { reconnect } from './reconnect.js';
import { ReplicationConnection, where } from './replication.js';
import { type SetupResult, setup, type TableInfo } from './setup.js';
import { slotLag, startHeartbeat } from './side-queries.js';
import { type SnapshotHandle, Snapshotter } from './snapshot/snapshotter.js';
import { Turns } from './turns.js';
import { namesUnknownType, reloadTypes } from './type-watch.js';
import { TypeRegistry } from './types/registry.js';

/**
 * Most items, and most frame bytes, in one run handed to the consumer: frames taken off the queue let the socket
 * read on, so a run's size is read-ahead beyond maxQueueBytes.
 */
const RUN_ITEMS = 256;
const RUN_BYTES = 256 * 1024;

/** How long close() waits for a replication connection under way to be made and ended. */
const CONNECTING_WAIT_MS = 10_000;

/** Creates a reader; nothing connects until `open()` or the first `read()`. */
export function createPostgresReader(options: PostgresReaderOptions): PostgresReader {
  return new Reader(resolveReaderOptions(options));
}

class Reader implements PostgresReader {
  private readonly log: Logger;
  private readonly types = new TypeRegistry();
  private decoder: ChangeDecoder | null = null;
  private conn: ReplicationConnection | null = null;
  private setupResult: SetupResult | null = null;
  private preparing: Promise<void> | null = null;
  private opening: Promise<void> | null = null;
  private readonly queue: FrameQueue;
  private state: PostgresReaderStatus['state'] = 'idle';
  private closed = false;
  /** The replication connection being made, if any (close() waits for it). */
  private connecting: Promise<void> | null = null;
  private reconnects = 0;
  sourceId: string | null = null;
  /** A `commit` item follows every transaction's events (see LogReader.commitMarkers). */
  readonly commitMarkers = true as const;
  sourceStart: SourceStart | null = null;

  /** What may be confirmed to the server, and what a reconnect re-sends that was handed out already. */
  private readonly ledger = new ConfirmLedger();
  private serverWalEnd: Lsn | null = null;
  /** Highest WAL position received (reported as `write` in status updates; `flush` is what sinks hold). */
  private received: Lsn = 0n;
  private readonly prepared: PreparedWarnings;
  private spillRoot: string | null = null;
  private statusTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeat: { client: pg.Client; timer: ReturnType<typeof setInterval> } | null = null;
  private readonly snap: Snapshotter;

  constructor(private readonly o: ResolvedReaderOptions) {
    this.log = o.logger ?? silentLogger;
    this.prepared = new PreparedWarnings(this.log, o.preparedWarningMs, o.slot);
    this.queue = new FrameQueue(o.maxQueueBytes, {
      pause: () => this.conn?.pause(),
      resume: () => this.conn?.resume(),
    });
    this.snap = new Snapshotter(o.snapshot, {
      slot: o.slot,
      publication: o.publication,
      client: o.client,
      types: this.types,
      log: this.log,
      setLastIndex: (lsn, index) => this.ledger.setLastIndex(lsn, index),
    });
  }

  get tables(): readonly TableInfo[] {
    return this.setupResult?.tables ?? [];
  }

  prepare(_opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.preparing ??= this.doPrepare();
    return this.preparing;
  }

  open(opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.opening ??= this.doOpen(opts.signal);
    return this.opening;
  }

  /** Checks and inspects on an ordinary connection; creates the publication when `tables` says so, never the slot. */
  private async doPrepare(): Promise<void> {
    const client = new pg.Client(this.o.client);
    try {
      await client.connect();
    } catch (err) {
      throw new ConnectionError(withConnectReason(`cannot connect to Postgres at ${where(this.o.client)}`, err), {
        cause: err,
      });
    }
    try {
      this.setupResult = await setup(client, this.o, this.log);
    } finally {
      // Not awaited: the server's goodbye takes a round trip the start-up need not wait for.
      client.end().catch(() => {});
    }
    this.sourceStart = { slotCreated: !this.setupResult.slotExists, temporary: this.o.temporarySlot };
  }

  private async doOpen(signal: AbortSignal | undefined): Promise<void> {
    await this.prepare();
    const s = this.setupResult as SetupResult;
    this.types.load(s.types);
    this.ledger.confirmed = s.confirmedFlush ?? 0n;
    // Spill files live in a folder of this slot's own (one reader per slot): what a crashed run left there is
    // garbage now, since the server re-sends every transaction that was not confirmed.
    this.spillRoot = join(this.o.spillDir ?? tmpdir(), `walstream-spill-${this.o.slot}`);
    rmSync(this.spillRoot, { recursive: true, force: true });
    await this.snap.open(s);
    this.snap.userMessages = this.o.messages;
    const primaryKeys = new Map(s.tables.map((t) => [`${t.schema}.${t.table}`, t.primaryKey]));
    this.decoder = new ChangeDecoder(this.types, {
      database: s.database,
      messages: this.o.messages || this.snap.o.onDemand,
      standaloneMessages: this.o.messages,
      heartbeatPrefix: this.o.heartbeat?.prefix ?? '\0none',
      streamMemoryBytes: this.o.streamMemoryBytes,
      spillDir: this.spillRoot,
      primaryKeys,
    });
    const decoder = this.decoder;
    decoder.onTransactionEnd = (end) => this.ledger.transactionEnded(end);
    decoder.onEmptyTransaction = (endLsn) => this.ledger.emptyTransaction(endLsn, decoder.idle);
    if (signal?.aborted) throw new WalstreamError(ErrorCode.Stopped, 'aborted while opening');
    if (this.snap.mode === 'only') {
      await this.snap.importOnly();
      this.state = 'streaming';
      return;
    }
    await this.connect(true);
    // close() may have run meanwhile (a user stopping during open()): start nothing it would not stop.
    if (this.closed) return;
    this.statusTimer = setInterval(() => {
      this.sendStatus();
      this.prepared.check(this.decoder?.pendingPrepared ?? []);
    }, this.o.statusIntervalMs);
    this.statusTimer.unref();
    if (this.o.heartbeat) await this.startHeartbeat(this.o.heartbeat);
  }

  /** Makes the replication connection; close() waits for one under way (see `connecting`). */
  private connect(first: boolean): Promise<void> {
    const attempt = this.makeConnection(first);
    const tracked = attempt.finally(() => {
      if (this.connecting === tracked) this.connecting = null;
    });
    this.connecting = tracked;
    return tracked;
  }

  private async makeConnection(first: boolean): Promise<void> {
    const s = this.setupResult as SetupResult;
    const conn = new ReplicationConnection(this.o.client);
    await conn.connect();
    try {
      const id = await conn.identify();
      this.sourceId = `${id.systemId}.${id.timeline}`;
      if (first && !s.slotExists) {
        const exporting = await this.snap.prepareInitial();
        const created = await conn.createSlot(
          this.o.slot,
          this.o.temporarySlot,
          this.o.twoPhase,
          s.serverVersion,
          exporting,
          this.o.failover,
        );
        if (exporting) await this.snap.importExported(created.snapshotName as string, created.consistentPoint);
        this.sourceStart = { slotCreated: true, slotStart: created.consistentPoint, temporary: this.o.temporarySlot };
        this.log.info('created replication slot', { slot: this.o.slot, temporary: this.o.temporarySlot });
      }
      const proto = s.protocolVersion;
      await conn.start(
        {
          slot: this.o.slot,
          publication: this.o.publication,
          protocolVersion: proto,
          binary: this.o.binary,
          messages: this.o.messages || this.o.heartbeat !== undefined || this.snap.o.onDemand,
          streaming: proto >= 2 && this.o.streaming !== false,
          twoPhase: this.o.twoPhase,
          startLsn: this.ledger.confirmed,
          origin: this.o.origin,
        },
        {
          data: (frame, dataStart) => {
            if (dataStart > this.received) this.received = dataStart;
            this.queue.push(frame);
          },
          keepalive: (walEnd, reply) => this.onKeepalive(walEnd, reply),
          end: (error) => this.queue.end(error),
        },
      );
    } catch (err) {
      await conn.end();
      throw err;
    }
    if (this.closed) {
      // close() ran while this connection was being made (a reconnect): it could not end what did not exist yet,
      // and left alone the connection would hold the slot for as long as the process lives.
      await conn.end();
      return;
    }
    this.conn = conn;
    this.state = 'streaming';
    this.log.info('replication started', {
      slot: this.o.slot,
      protocolVersion: s.protocolVersion,
      from: formatLsn(this.ledger.confirmed),
    });
  }

  private onKeepalive(walEnd: Lsn, replyRequested: boolean): void {
    this.serverWalEnd = walEnd;
    // Anything queued, open or buffered rules out confirming the server's position (see ConfirmLedger).
    const decoder = this.decoder;
    const quiet = this.queue.empty && decoder?.idle === true && decoder.holdBackLsn === null;
    this.ledger.keepalive(walEnd, quiet);
    if (replyRequested) this.sendStatus();
  }

  /** Written = received, flushed and applied = what every consumer holds. */
  private sendStatus(): void {
    this.conn?.sendStatus(this.ledger.confirmed, this.received); // written is never reported below flushed
  }

  async *read(opts: ReadOptions = {}): AsyncGenerator<ReaderItem> {
    const signal = opts.signal;
    for await (const run of this.readRuns(opts)) {
      for (const item of run) {
        // Before every item: a stop between two items of a run hands out nothing more.
        if (signal?.aborted || this.closed) return;
        yield item;
      }
    }
  }

  /**
   * The items in runs (see LogReader.readRuns): what the frames already queued decode to, at most RUN_ITEMS at a
   * time, a snapshot's rows as the copy hands them over. A run is handed out before the reader waits for data,
   * takes an event-loop turn or loads types, so nothing decoded waits behind I/O.
   */
  async *readRuns(opts: ReadOptions = {}): AsyncGenerator<ReaderItem[]> {
    await this.open({ signal: opts.signal });
    const signal = opts.signal;
    const onAbort = () => this.queue.wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    const out: ReaderItem[] = [];
    const turns = new Turns();
    try {
      for await (const items of this.snap.initialItems()) {
        if (signal?.aborted || this.closed) return;
        yield items;
        faultPoint('snapshot_after_chunk');
      }
      if (this.snap.mode === 'only') return;
      let run: ReaderItem[] = [];
      let runBytes = 0;
      /** The run so far, to hand out; the next one starts empty. */
      const take = (): ReaderItem[] => {
        const r = run;
        run = [];
        runBytes = 0;
        return r;
      };
      for (;;) {
        if (signal?.aborted || this.closed) return;
        // Between turns the queue drains in microtasks (see turns.ts). A graceful stop aborts between source
        // transactions: the consumer checks before every item, and nothing is handed out after the abort.
        if (turns.due()) {
          if (run.length > 0) yield take();
          await turns.take(this.conn, () => this.queue.paused);
          continue;
        }
        const frame = this.queue.shift();
        if (frame === null) {
          if (run.length > 0) {
            yield take();
            continue;
          }
          const outcome = await this.queue.wait();
          turns.restart();
          if (outcome !== 'ended') continue;
          if (this.closed || signal?.aborted) return;
          await this.recover(this.queue.endError, signal);
          continue;
        }
        if (namesUnknownType(frame, 25, (this.decoder as ChangeDecoder).inStream, this.types)) {
          if (run.length > 0) yield take();
          await reloadTypes(this.o.client, this.types);
          if (signal?.aborted || this.closed) return;
        }
        runBytes += frame.length;
        const lazy = (this.decoder as ChangeDecoder).handle(frame, 25, frame.length, out);
        const items: Iterable<ReaderItem>[] = lazy === null ? [out] : [out, lazy];
        for (const source of items) {
          // A replayed large transaction is decoded only as fast as the consumer takes it: one item per run.
          const limit = source === out ? RUN_ITEMS : 1;
          for (const item of source) {
            if (this.ledger.skip(item)) continue;
            const p = this.snap.watching ? this.snap.pass(item) : item;
            if (p === item) run.push(item);
            else if (p !== null) {
              // Only a snapshot chunk replaces an item by several: its rows and commit go out in one run.
              for (const x of p as ReaderItem[]) run.push(x);
              yield take();
              faultPoint('snapshot_after_chunk');
              if (signal?.aborted || this.closed) return;
              continue;
            }
            if (run.length >= limit || runBytes >= RUN_BYTES) {
              yield take();
              if (signal?.aborted || this.closed) return;
            }
          }
        }
        out.length = 0;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The stream ended: reconnect when the cause is retriable, else fail. */
  private async recover(error: Error | null, signal: AbortSignal | undefined): Promise<void> {
    const err = error ?? new ConnectionError('the server ended the replication stream');
    if (!isRetriable(err) || this.o.temporarySlot) {
      this.state = 'failed';
      throw toWalstreamError(err);
    }
    this.state = 'reconnecting';
    await this.conn?.end();
    this.conn = null;
    const outcome = await reconnect(err, {
      ...this.o.reconnect,
      walSenderTimeoutMs: (this.setupResult as SetupResult).walSenderTimeoutMs,
      slot: this.o.slot,
      log: this.log,
      signal,
      closed: () => this.closed,
      attempt: async () => {
        this.queue.reset();
        (this.decoder as ChangeDecoder).reset();
        this.ledger.replaying();
        await this.connect(false);
      },
    });
    if (outcome.kind === 'connected') this.reconnects++;
    else if (outcome.kind === 'failed') {
      this.state = 'failed';
      throw toWalstreamError(outcome.error);
    }
  }

  async ack(position: Position): Promise<void> {
    await this.snap
      .ack(position)
      .catch((err: Error) => this.log.warn('snapshot checkpoint not saved', { error: err.message }));
    this.ledger.ack(position, this.decoder?.holdBackLsn ?? null);
  }

  status(): PostgresReaderStatus {
    const walEnd = this.serverWalEnd;
    return {
      state: this.state,
      protocolVersion: this.setupResult?.protocolVersion ?? null,
      confirmedLsn: this.ledger.confirmed === 0n ? null : formatLsn(this.ledger.confirmed),
      receivedLsn: this.received === 0n ? null : formatLsn(this.received),
      pendingTransactions: this.ledger.pending,
      serverWalEnd: walEnd === null ? null : formatLsn(walEnd),
      lagBytes: walEnd !== null && walEnd > this.ledger.confirmed ? Number(walEnd - this.ledger.confirmed) : 0,
      queuedBytes: this.queue.bytes,
      paused: this.queue.paused,
      bufferedTransactionBytes: this.decoder?.bufferedBytes ?? 0,
      streamedTransactions: this.decoder?.streamedTransactions ?? 0,
      spilledTransactions: this.decoder?.spilledTransactions ?? 0,
      reconnects: this.reconnects,
      preparedTransactions: (this.decoder?.pendingPrepared ?? []).map((p) => ({
        gid: p.gid,
        prepareLsn: formatLsn(p.prepareLsn),
        ageMs: Date.now() - p.preparedAtMs,
      })),
      snapshot: this.snap.progressList(),
    };
  }

  lag(): Promise<{ currentLsn: string; confirmedLsn: string | null; bytes: number }> {
    return slotLag(this.o.client, this.o.slot);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.wake();
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    await this.stopHeartbeat();
    // The final word to the server: what every consumer holds.
    this.sendStatus();
    await this.conn?.end();
    // A connection being made (a reconnect, or open()) ends itself once made (see connect); wait for that, so
    // nothing holds the slot when close() returns. Bounded: a dead network could hold the attempt for minutes.
    // Its outcome (it may fail) is not close()'s to report.
    const connecting = this.connecting;
    if (connecting !== null) await settleWithin(() => connecting, CONNECTING_WAIT_MS);
    this.decoder?.reset();
    if (this.spillRoot !== null) rmSync(this.spillRoot, { recursive: true, force: true });
    await this.snap.close();
    if (this.state !== 'failed') this.state = 'closed';
  }

  requestSnapshot(tables: readonly string[], opts?: { chunkRows?: number }): SnapshotHandle {
    return this.snap.request(tables, opts);
  }

  snapshotProgress(): readonly TableSnapshotProgress[] {
    return this.snap.progressList();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async startHeartbeat(h: { intervalMs: number; prefix: string }): Promise<void> {
    this.heartbeat = await startHeartbeat(this.o.client, h, this.log);
    if (this.closed) await this.stopHeartbeat(); // closed while it connected
  }

  private async stopHeartbeat(): Promise<void> {
    const hb = this.heartbeat;
    if (hb === null) return;
    this.heartbeat = null;
    clearInterval(hb.timer);
    await hb.client.end().catch(() => {});
  }
}
