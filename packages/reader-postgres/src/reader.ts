/**
 * The Postgres LogReader. It confirms to Postgres only positions the consumer acknowledged (mapped from a
 * transaction's commit LSN to its end LSN), sends status updates on a timer and whenever the server asks,
 * pauses the socket when its queue is full, and reconnects from the slot after a lost connection.
 */
import {
  ErrorCode,
  formatLsn,
  isRetriable,
  type Logger,
  type Lsn,
  type Position,
  type ReaderItem,
  type ReadOptions,
  silentLogger,
  toWalstreamError,
  WalstreamError,
} from '@walstream/core';
import { backoffDelay, sleep } from '@walstream/core/internal';
import pg from 'pg';
import { ChangeDecoder, type TransactionEnd } from './change-decoder.js';
import { ConnectionError } from './errors.js';
import { FrameQueue } from './frame-queue.js';
import { type PostgresReaderOptions, type ResolvedReaderOptions, resolveReaderOptions } from './options.js';
import { ReplicationConnection } from './replication.js';
import { type SetupResult, setup, type TableInfo } from './setup.js';
import { TypeRegistry } from './types/registry.js';

export interface PostgresReaderStatus {
  readonly state: 'idle' | 'streaming' | 'reconnecting' | 'closed' | 'failed';
  readonly protocolVersion: number | null;
  /** Last position confirmed to Postgres. */
  readonly confirmedLsn: string | null;
  /** End of WAL as of the server's last keepalive. */
  readonly serverWalEnd: string | null;
  /** serverWalEnd - confirmedLsn, in bytes. */
  readonly lagBytes: number;
  readonly queuedBytes: number;
  readonly paused: boolean;
  readonly bufferedTransactionBytes: number;
  /** Transactions the server streamed before they committed (protocol 2+), and those that spilled to disk. */
  readonly streamedTransactions: number;
  readonly spilledTransactions: number;
  readonly reconnects: number;
}

export interface PostgresReader {
  open(opts?: { signal?: AbortSignal }): Promise<void>;
  read(opts?: ReadOptions): AsyncIterable<ReaderItem>;
  ack(position: Position): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  status(): PostgresReaderStatus;
  /** Bytes between the server's current WAL position and the slot's confirmed position (one query). */
  lag(): Promise<{ currentLsn: string; confirmedLsn: string | null; bytes: number }>;
  /** Published tables and their replica identity (after open). */
  readonly tables: readonly TableInfo[];
}

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
  private opening: Promise<void> | null = null;
  private readonly queue: FrameQueue;
  private state: PostgresReaderStatus['state'] = 'idle';
  private closed = false;
  private reconnects = 0;

  /** Transactions handed out and not yet acknowledged, oldest first. */
  private readonly ends: TransactionEnd[] = [];
  private confirmed: Lsn = 0n;
  private serverWalEnd: Lsn | null = null;
  /** After a reconnect the server re-sends what we already handed out: skip commits up to here. */
  private skipUpTo: Lsn = 0n;
  private lastHandedOut: Lsn = 0n;
  private statusTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeat: { client: pg.Client; timer: ReturnType<typeof setInterval> } | null = null;

  constructor(private readonly o: ResolvedReaderOptions) {
    this.log = o.logger ?? silentLogger;
    this.queue = new FrameQueue(o.maxQueueBytes, {
      pause: () => this.conn?.pause(),
      resume: () => this.conn?.resume(),
    });
  }

  get tables(): readonly TableInfo[] {
    return this.setupResult?.tables ?? [];
  }

  open(opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.opening ??= this.doOpen(opts.signal);
    return this.opening;
  }

  private async doOpen(signal: AbortSignal | undefined): Promise<void> {
    const client = new pg.Client(this.o.client);
    try {
      await client.connect();
    } catch (err) {
      throw new ConnectionError('cannot connect to Postgres', { cause: err });
    }
    try {
      this.setupResult = await setup(client, this.o, this.log);
    } finally {
      await client.end().catch(() => {});
    }
    const s = this.setupResult;
    this.types.load(s.types);
    this.confirmed = s.confirmedFlush ?? 0n;
    const primaryKeys = new Map(s.tables.map((t) => [`${t.schema}.${t.table}`, t.primaryKey]));
    this.decoder = new ChangeDecoder(this.types, {
      database: s.database,
      messages: this.o.messages,
      heartbeatPrefix: this.o.heartbeat?.prefix ?? '\0none',
      streamMemoryBytes: this.o.streamMemoryBytes,
      spillDir: this.o.spillDir,
      primaryKeys,
    });
    this.decoder.onTransactionEnd = (end) => this.ends.push(end);
    if (signal?.aborted) throw new WalstreamError(ErrorCode.Stopped, 'aborted while opening');
    await this.connect(true);
    this.statusTimer = setInterval(() => this.conn?.sendStatus(this.confirmed), this.o.statusIntervalMs);
    this.statusTimer.unref();
    if (this.o.heartbeat) await this.startHeartbeat(this.o.heartbeat);
  }

  private async connect(first: boolean): Promise<void> {
    const s = this.setupResult as SetupResult;
    const conn = new ReplicationConnection(this.o.client);
    await conn.connect();
    try {
      if (first && !s.slotExists) {
        await conn.createSlot(this.o.slot, this.o.temporarySlot, this.o.twoPhase, s.serverVersion);
        this.log.info('created replication slot', { slot: this.o.slot, temporary: this.o.temporarySlot });
      }
      const proto = s.protocolVersion;
      await conn.start(
        {
          slot: this.o.slot,
          publication: this.o.publication,
          protocolVersion: proto,
          binary: this.o.binary,
          messages: this.o.messages || this.o.heartbeat !== undefined,
          streaming: proto >= 2 && this.o.streaming !== false,
          twoPhase: this.o.twoPhase,
          startLsn: this.confirmed,
        },
        {
          data: (frame) => this.queue.push(frame),
          keepalive: (walEnd, reply) => this.onKeepalive(walEnd, reply),
          end: (error) => this.queue.end(error),
        },
      );
    } catch (err) {
      await conn.end();
      throw err;
    }
    this.conn = conn;
    this.state = 'streaming';
    this.log.info('replication started', {
      slot: this.o.slot,
      protocolVersion: s.protocolVersion,
      from: formatLsn(this.confirmed),
    });
  }

  private onKeepalive(walEnd: Lsn, replyRequested: boolean): void {
    this.serverWalEnd = walEnd;
    // Nothing received and unconfirmed: the server's position can be confirmed, so idle databases
    // don't keep WAL. Anything queued, open, buffered or unacknowledged rules that out.
    const decoder = this.decoder;
    if (
      this.ends.length === 0 &&
      this.queue.empty &&
      decoder?.idle &&
      decoder.holdBackLsn === null &&
      walEnd > this.confirmed
    ) {
      this.confirmed = walEnd;
    }
    if (replyRequested) this.conn?.sendStatus(this.confirmed);
  }

  async *read(opts: ReadOptions = {}): AsyncGenerator<ReaderItem> {
    await this.open({ signal: opts.signal });
    const signal = opts.signal;
    const onAbort = () => this.queue.wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    const out: ReaderItem[] = [];
    try {
      for (;;) {
        if (signal?.aborted || this.closed) return;
        const frame = this.queue.shift();
        if (frame === null) {
          if ((await this.queue.wait()) !== 'ended') continue;
          if (this.closed || signal?.aborted) return;
          await this.recover(this.queue.endError, signal);
          continue;
        }
        const lazy = (this.decoder as ChangeDecoder).handle(frame, 25, frame.length, out);
        for (let i = 0; i < out.length; i++) {
          const item = out[i] as ReaderItem;
          if (this.skip(item)) continue;
          yield item;
        }
        out.length = 0;
        if (lazy !== null) for (const item of lazy) if (!this.skip(item)) yield item;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Drops what a reconnect re-sent that was already handed out; notes the last commit handed out. */
  private skip(item: ReaderItem): boolean {
    const kind = (item as { kind?: string }).kind;
    if (kind === 'heartbeat') return false;
    const lsn = (item as { position: Position }).position.lsn;
    if (lsn !== 0n && lsn <= this.skipUpTo) {
      if (kind === 'commit') this.ends.pop(); // its end was recorded again by the decoder
      return true;
    }
    if (kind === 'commit') this.lastHandedOut = lsn;
    return false;
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
    for (let attempt = 1; ; attempt++) {
      if (attempt > this.o.reconnect.maxAttempts) {
        this.state = 'failed';
        throw toWalstreamError(err);
      }
      const delay = backoffDelay(
        { ...this.o.reconnect, multiplier: 2, maxAttempts: this.o.reconnect.maxAttempts },
        attempt,
      );
      this.log.warn('replication connection lost, reconnecting', { attempt, delayMs: delay, error: err.message });
      await sleep(delay, signal);
      try {
        this.queue.reset();
        (this.decoder as ChangeDecoder).reset();
        this.skipUpTo = this.lastHandedOut;
        await this.connect(false);
        this.reconnects++;
        return;
      } catch (e) {
        if (!isRetriable(e)) {
          this.state = 'failed';
          throw toWalstreamError(e);
        }
      }
    }
  }

  async ack(position: Position): Promise<void> {
    let end: TransactionEnd | undefined;
    while (this.ends.length > 0) {
      const e = this.ends[0] as TransactionEnd;
      if (e.commitLsn < position.lsn || (e.commitLsn === position.lsn && position.index >= e.lastIndex)) {
        end = this.ends.shift();
      } else break;
    }
    if (end === undefined) return;
    let lsn = end.endLsn;
    const hold = this.decoder?.holdBackLsn ?? null;
    if (hold !== null && lsn > hold) lsn = hold;
    if (lsn > this.confirmed) this.confirmed = lsn;
  }

  status(): PostgresReaderStatus {
    const walEnd = this.serverWalEnd;
    return {
      state: this.state,
      protocolVersion: this.setupResult?.protocolVersion ?? null,
      confirmedLsn: this.confirmed === 0n ? null : formatLsn(this.confirmed),
      serverWalEnd: walEnd === null ? null : formatLsn(walEnd),
      lagBytes: walEnd !== null && walEnd > this.confirmed ? Number(walEnd - this.confirmed) : 0,
      queuedBytes: this.queue.bytes,
      paused: this.queue.paused,
      bufferedTransactionBytes: this.decoder?.bufferedBytes ?? 0,
      streamedTransactions: this.decoder?.streamedTransactions ?? 0,
      spilledTransactions: this.decoder?.spilledTransactions ?? 0,
      reconnects: this.reconnects,
    };
  }

  async lag(): Promise<{ currentLsn: string; confirmedLsn: string | null; bytes: number }> {
    const client = new pg.Client(this.o.client);
    await client.connect();
    try {
      const r = await client.query<{ cur: string; conf: string | null; bytes: string | null }>(
        `SELECT pg_current_wal_lsn()::text AS cur, confirmed_flush_lsn::text AS conf,
                pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS bytes
           FROM pg_replication_slots WHERE slot_name = $1`,
        [this.o.slot],
      );
      const row = r.rows[0];
      if (row === undefined) {
        const cur = await client.query<{ cur: string }>('SELECT pg_current_wal_lsn()::text AS cur');
        return { currentLsn: (cur.rows[0] as { cur: string }).cur, confirmedLsn: null, bytes: 0 };
      }
      return { currentLsn: row.cur, confirmedLsn: row.conf, bytes: Number(row.bytes ?? 0) };
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.wake();
    if (this.statusTimer !== null) clearInterval(this.statusTimer);
    if (this.heartbeat !== null) {
      clearInterval(this.heartbeat.timer);
      await this.heartbeat.client.end().catch(() => {});
    }
    // The final word to the server: what every consumer holds.
    this.conn?.sendStatus(this.confirmed);
    await this.conn?.end();
    this.decoder?.reset();
    if (this.state !== 'failed') this.state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async startHeartbeat(h: { intervalMs: number; prefix: string }): Promise<void> {
    const client = new pg.Client(this.o.client);
    client.on('error', (err) => this.log.warn('heartbeat connection error', { error: err.message }));
    await client.connect();
    const timer = setInterval(() => {
      client
        .query('SELECT pg_logical_emit_message(true, $1, $2)', [h.prefix, ''])
        .catch((err: Error) => this.log.warn('heartbeat failed', { error: err.message }));
    }, h.intervalMs);
    timer.unref();
    this.heartbeat = { client, timer };
  }
}
