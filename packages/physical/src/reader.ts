/**
 * The physical replication reader: streams raw WAL from a physical slot as WalChunks. It starts at the slot's
 * restart point rounded down to a segment start (as pg_receivewal restarts a partial segment from its
 * beginning), follows timeline switches, and confirms to the server only what the pipeline acknowledged.
 */
import {
  ConfigError,
  formatLsn,
  type Heartbeat,
  isRetriable,
  type Logger,
  type LogReader,
  type Lsn,
  lsnFromParts,
  Operation,
  type Position,
  parseLsn,
  positionId,
  type ReaderItem,
  type ReadOptions,
  silentLogger,
  type TransactionCommit,
} from '@walstream/core';
import { backoffDelay, sleep } from '@walstream/core/internal';
import { SlabPool } from './backend.js';
import { PhysicalConnectionError, PhysicalServerError } from './errors.js';
import { parseSize, segmentStart, type WalChunk } from './wal.js';
import { firstRow, type ResultSet, WireSession } from './wire.js';

export interface PhysicalReaderOptions {
  /** libpq-style URL of the primary (or a standby); the user needs the REPLICATION attribute. */
  connectionString: string;
  /** Physical replication slot: keeps WAL on the server until the archive confirmed it. */
  slot: string;
  /** Create the slot (with reserved WAL) when it does not exist. @default true */
  createSlot?: boolean;
  /** Start at this LSN (rounded down to its segment start) instead of the slot's restart point. */
  startLsn?: Lsn | string;
  /** Interval of standby status updates (write/flush/apply) in ms. @default 10000 */
  statusIntervalMs?: number;
  /** application_name shown in pg_stat_replication. @default 'walstream-physical' */
  applicationName?: string;
  /** WAL bytes buffered ahead of the pipeline before the socket is paused. @default 16 MiB */
  maxBufferedBytes?: number;
  /** After a lost connection: reconnect and continue after the last byte received. @default { maxAttempts: Infinity, initialDelayMs: 200, maxDelayMs: 10000 } */
  reconnect?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Reuse the memory of WAL chunks once the pipeline has committed past them, instead of allocating new
   * memory for every few MiB (less GC, lower and steadier RSS). Only for sinks that keep no reference to
   * `bytes` after their write resolved, as the WAL archive sink; `walstream archive` turns it on.
   * @default false
   */
  reuseBuffers?: boolean;
  /** @default silent */
  logger?: Logger;
}

export interface PhysicalReader extends LogReader {
  /** Connects, reads the slot (creating it) and the server's settings. The pipeline calls it on start. */
  open(opts?: { signal?: AbortSignal }): Promise<void>;
  /** wal_segment_size of the server, known after open(). */
  readonly walSegmentSize: number;
  /** Timeline being streamed. */
  readonly timeline: number;
  /** Highest LSN confirmed to the server as flushed. */
  readonly flushedLsn: Lsn;
  /** Reconnects after lost connections so far. */
  readonly reconnects: number;
}

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const PG_EPOCH_MS = 946_684_800_000;

export function createPhysicalReader(options: PhysicalReaderOptions): PhysicalReader {
  if (typeof options?.connectionString !== 'string' || options.connectionString === '') {
    throw new ConfigError('connectionString', 'a Postgres connection URL is required');
  }
  if (typeof options.slot !== 'string' || !SLOT_NAME.test(options.slot)) {
    throw new ConfigError('slot', 'expected 1-63 characters of a-z, 0-9 and _');
  }
  const interval = options.statusIntervalMs ?? 10_000;
  if (!Number.isFinite(interval) || interval < 100) throw new ConfigError('statusIntervalMs', 'expected >= 100');
  const start = typeof options.startLsn === 'string' ? parseLsn(options.startLsn) : options.startLsn;
  return new PhysicalReaderImpl(options, interval, start);
}

class PhysicalReaderImpl implements PhysicalReader {
  walSegmentSize = 0;
  timeline = 0;
  flushedLsn: Lsn = 0n;
  reconnects = 0;
  private session: WireSession | null = null;
  private systemId = '';
  private startLsn: Lsn = 0n;
  private received: Lsn = 0n;
  private streaming = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  /** open() has read the server and the slot (start position, timeline, segment size). */
  private opened = false;
  /** A replication connection was made at least once. */
  private reached = false;
  /** Aborted by close(): ends a reconnect backoff at once (read()'s own signal may be absent). */
  private readonly closing = new AbortController();
  private readonly log: Logger;
  private readonly maxBuffered: number;
  private readonly pool: SlabPool | null;
  /** Slabs of this session that WAL chunks were cut from, with the end LSN of the last one, oldest first. */
  private slabs: { ab: ArrayBufferLike; end: Lsn }[] = [];

  constructor(
    private readonly o: PhysicalReaderOptions,
    private readonly interval: number,
    private readonly requestedStart: Lsn | undefined,
  ) {
    this.log = o.logger ?? silentLogger;
    this.maxBuffered = o.maxBufferedBytes ?? 16 << 20;
    this.pool = o.reuseBuffers === true ? new SlabPool() : null;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    const s = await this.newSession();
    if (s === null) return;
    this.session = s;
    this.reached = true;
    try {
      const id = firstRow(await s.query('IDENTIFY_SYSTEM'));
      this.systemId = id.systemid ?? '';
      const serverTli = Number(id.timeline);
      const xlogpos = parseLsn(id.xlogpos ?? '0/0');
      this.walSegmentSize = parseSize(firstRow(await s.query('SHOW wal_segment_size')).wal_segment_size ?? '');
      let slot = await readSlot(s, this.o.slot);
      if (slot.slot_type === null) {
        if (this.o.createSlot === false) {
          throw new ConfigError('slot', `replication slot "${this.o.slot}" does not exist and createSlot is false`);
        }
        // A physical slot's creation reports no consistent point: read the reserved restart_lsn back.
        await s.query(`CREATE_REPLICATION_SLOT ${this.o.slot} PHYSICAL RESERVE_WAL`);
        this.log.info('created physical replication slot', { slot: this.o.slot });
        slot = await readSlot(s, this.o.slot);
      }
      if (slot.slot_type !== 'physical') {
        throw new ConfigError('slot', `replication slot "${this.o.slot}" is ${slot.slot_type}, not physical`);
      }
      const restart = slot.restart_lsn && slot.restart_lsn !== '0/0' ? parseLsn(slot.restart_lsn) : null;
      const tli = slot.restart_tli ? Number(slot.restart_tli) : serverTli;
      const from = this.requestedStart ?? restart ?? xlogpos;
      this.startLsn = segmentStart(from, this.walSegmentSize);
      this.timeline = tli;
      // What the slot holds is already durable in the archive: report it back unchanged until acks arrive.
      this.flushedLsn = restart ?? 0n;
      this.opened = true;
    } catch (err) {
      await this.dropSession();
      throw err;
    }
  }

  async *read(opts: ReadOptions = {}): AsyncGenerator<ReaderItem> {
    if (this.closed) return;
    const signal = opts.signal;
    this.timer = setInterval(() => this.sendStatus(false), this.interval);
    const retry = {
      maxAttempts: this.o.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY,
      initialDelayMs: this.o.reconnect?.initialDelayMs ?? 200,
      maxDelayMs: this.o.reconnect?.maxDelayMs ?? 10_000,
      multiplier: 2,
    };
    let attempt = 0;
    try {
      // Known once open() has read the slot (here, or before read()).
      let tli = 0;
      let from = 0n;
      for (;;) {
        let next: { timeline: number; start: Lsn } | null;
        try {
          // The set-up runs inside the retry: a connection lost while it runs is a reconnect like any other
          // (a configuration error is not retriable and still ends read()).
          if (!this.opened) await this.open();
          else if (this.session === null) await this.reconnect();
          if (this.closed) return;
          if (tli === 0) {
            tli = this.timeline;
            from = this.startLsn;
          }
          if (tli > 1) {
            const hist = await this.history(tli, from);
            if (hist) yield hist;
          }
          next = yield* this.stream(tli, from, signal, () => {
            attempt = 0;
          });
          attempt = 0;
        } catch (err) {
          // Right after a lost connection the server may not have released the slot yet (55006): wait and retry.
          const slotBusy = attempt > 0 && err instanceof PhysicalServerError && err.sqlState === '55006';
          if ((!isRetriable(err) && !slotBusy) || this.closed || signal?.aborted) throw err;
          // A server never reached (a wrong address, nothing listening) fails read() at once, as open() does.
          if (!this.reached) throw err;
          attempt++;
          if (attempt > retry.maxAttempts) throw err;
          const delayMs = backoffDelay(retry, attempt);
          this.log.warn('replication connection lost, reconnecting', {
            attempt,
            delayMs,
            error: (err as Error).message,
          });
          await this.dropSession();
          this.reconnects++;
          try {
            await sleep(delayMs, signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal);
          } catch {
            return;
          }
          // Everything received was yielded before the error surfaced: continue right after it.
          if (this.received > from) from = this.received;
          continue;
        }
        if (next === null) return;
        this.log.info('timeline switch', { from: tli, to: next.timeline, at: formatLsn(next.start) });
        tli = next.timeline;
        from = segmentStart(next.start, this.walSegmentSize);
        this.timeline = tli;
      }
    } finally {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.dropSession();
    }
  }

  private async reconnect(): Promise<void> {
    this.session = await this.newSession();
  }

  /** A new replication session, or null when close() ran while it was being made (then nobody would end it). */
  private async newSession(): Promise<WireSession | null> {
    const s = await WireSession.connect(
      this.o.connectionString,
      this.o.applicationName ?? 'walstream-physical',
      this.pool ?? undefined,
    );
    if (!this.closed) return s;
    await s.close();
    return null;
  }

  async ack(position: Position): Promise<void> {
    if (position.lsn <= this.flushedLsn) return;
    this.flushedLsn = position.lsn;
    this.sendStatus(false);
    this.release(position.lsn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sendStatus(false);
    await this.dropSession();
  }

  /** Hands back the slabs whose every WAL chunk the pipeline has committed (so no sink needs them any more). */
  private release(lsn: Lsn): void {
    const pool = this.pool;
    const s = this.session;
    if (pool === null || s === null) return;
    while (this.slabs.length > 0) {
      const head = this.slabs[0] as { ab: ArrayBufferLike; end: Lsn };
      if (head.end > lsn || head.ab === s.currentSlab) return;
      this.slabs.shift();
      pool.give(head.ab);
    }
  }

  private async dropSession(): Promise<void> {
    const s = this.session;
    this.session = null;
    // A closing socket may still read into its slabs: none of them goes back to the pool.
    this.slabs = [];
    this.streaming = false;
    await s?.close();
  }

  private async history(tli: number, at: Lsn): Promise<WalChunk | null> {
    const s = this.requireSession();
    const row = firstRow(await s.query(`TIMELINE_HISTORY ${tli}`));
    const content = Buffer.from(row.content ?? '', 'utf8');
    return this.chunk('history', tli, at, content, { lsn: at, index: 1 }, new Date().toISOString());
  }

  /** One START_REPLICATION; returns the next timeline when the server ended this one, null when stopped. */
  private async *stream(
    tli: number,
    from: Lsn,
    signal: AbortSignal | undefined,
    progressed: () => void,
  ): AsyncGenerator<ReaderItem, { timeline: number; start: Lsn } | null> {
    const s = this.requireSession();
    const queue: ReaderItem[] = [];
    let head = 0;
    let queued = 0;
    let paused = false;
    let finished: { sets: ResultSet[] } | null = null;
    let failed: Error | null = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const onAbort = () => notify();
    signal?.addEventListener('abort', onAbort);

    const sql = `START_REPLICATION SLOT ${this.o.slot} PHYSICAL ${formatLsn(from)} TIMELINE ${tli}`;
    this.received = from;
    const done = s.copy(sql, {
      started: () => {
        this.streaming = true;
      },
      data: (c) => {
        if (c[0] === 0x77 /* w */) {
          const start = lsnFromParts(c.readUInt32BE(1), c.readUInt32BE(5));
          // The session hands over ownership of c: the WAL bytes are a view of it, never copied.
          const bytes = c.subarray(25);
          const end = start + BigInt(bytes.length);
          if (this.pool) {
            const last = this.slabs[this.slabs.length - 1];
            if (last?.ab === c.buffer) last.end = end;
            else this.slabs.push({ ab: c.buffer, end });
          }
          if (end > this.received) this.received = end;
          const ts = pgTime(c.readBigInt64BE(17));
          const position = { lsn: end, index: 0 };
          queue.push(this.chunk('wal', tli, start, bytes, position, ts), commitOf(position, ts));
          queued += bytes.length;
          if (!paused && queued >= this.maxBuffered) {
            paused = true;
            s.pause();
          }
          notify();
        } else if (c[0] === 0x6b /* k */) {
          const walEnd = lsnFromParts(c.readUInt32BE(1), c.readUInt32BE(5));
          const hb: Heartbeat = { kind: 'heartbeat', walEnd, timestamp: pgTime(c.readBigInt64BE(9)) };
          queue.push(hb);
          if (c[17] === 1) this.sendStatus(false);
          notify();
        }
      },
      done: () => {
        // The server ended the timeline: answer with our CopyDone, then it sends the next timeline.
        this.streaming = false;
        s.sendCopyDone();
      },
    });
    done.then(
      (sets) => {
        finished = { sets };
        notify();
      },
      (err: Error) => {
        failed = err;
        notify();
      },
    );

    try {
      for (;;) {
        if (signal?.aborted || this.closed) return null;
        if (head < queue.length) {
          const item = queue[head++] as ReaderItem;
          if (head > 1024) {
            queue.splice(0, head);
            head = 0;
          }
          const w = item as Partial<WalChunk>;
          if (w.bytes) {
            progressed();
            queued -= w.bytes.length;
            if (paused && queued < this.maxBuffered / 2) {
              paused = false;
              s.resume();
            }
          }
          yield item;
          continue;
        }
        if (failed) throw failed;
        if (finished) return nextTimeline((finished as { sets: ResultSet[] }).sets);
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private chunk(
    walKind: 'wal' | 'history',
    timeline: number,
    startLsn: Lsn,
    bytes: Buffer,
    position: Position,
    timestamp: string,
  ): WalChunk {
    return {
      id: positionId(position),
      position,
      operation: Operation.Message,
      timestamp,
      transactionId: '',
      database: '',
      schema: '',
      table: '',
      key: null,
      before: null,
      after: null,
      unchanged: [],
      message: { prefix: `walstream.physical.${walKind}`, content: bytes, transactional: false },
      walKind,
      timeline,
      startLsn,
      bytes,
      walSegmentSize: this.walSegmentSize,
      systemId: this.systemId,
    };
  }

  private sendStatus(replyRequested: boolean): void {
    const s = this.session;
    if (s === null || !this.streaming) return;
    const b = Buffer.alloc(34);
    b[0] = 0x72; // r
    // write, flush and apply are all the committed position, never the received one: with
    // synchronous_commit=remote_write a primary would otherwise count WAL still in our memory as safe.
    b.writeBigUInt64BE(this.flushedLsn, 1);
    b.writeBigUInt64BE(this.flushedLsn, 9);
    b.writeBigUInt64BE(this.flushedLsn, 17);
    b.writeBigInt64BE((BigInt(Date.now()) - BigInt(PG_EPOCH_MS)) * 1000n, 25);
    b[33] = replyRequested ? 1 : 0;
    s.sendCopyData(b);
  }

  private requireSession(): WireSession {
    if (this.session === null) throw new PhysicalConnectionError('the replication connection is not open');
    return this.session;
  }
}

async function readSlot(s: WireSession, slot: string): Promise<Record<string, string | null>> {
  try {
    return firstRow(await s.query(`READ_REPLICATION_SLOT ${slot}`));
  } catch (err) {
    // The server refuses READ_REPLICATION_SLOT on a logical slot (feature_not_supported).
    if (err instanceof PhysicalServerError && err.sqlState === '0A000' && /logical/.test(err.message)) {
      throw new ConfigError('slot', `replication slot "${slot}" is logical, not physical`);
    }
    throw err;
  }
}

function commitOf(position: Position, timestamp: string): TransactionCommit {
  return { kind: 'commit', position, transactionId: '', timestamp, eventCount: 1 };
}

function nextTimeline(sets: readonly ResultSet[]): { timeline: number; start: Lsn } | null {
  const set = sets[0];
  if (!set || set.rows.length === 0) return null;
  const row = firstRow(sets);
  const tli = Number(row.next_tli);
  const start = row.next_tli_startpos;
  if (!Number.isInteger(tli) || !start) return null;
  return { timeline: tli, start: parseLsn(start) };
}

function pgTime(us: bigint): string {
  return new Date(Number(us / 1000n) + PG_EPOCH_MS).toISOString();
}
