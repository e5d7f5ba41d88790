/**
 * One replication connection (`replication=database`): creates the slot when asked, runs START_REPLICATION
 * and turns the CopyBoth stream into XLogData frames (views of the socket's reads, see frame-tap.ts) plus
 * keepalive callbacks. It never decides what to confirm; `sendStatus` sends whatever position the reader gives it.
 */
import type { EventEmitter } from 'node:events';
import { ErrorCode, lsnFromParts, parseLsn, WalstreamError } from '@walstream/core';
import { withConnectReason } from '@walstream/core/internal';
import pg from 'pg';
import { ConnectionError, PublicationMissingError, SlotActiveError, SlotInvalidatedError } from './errors.js';
import { FrameTap, REPLICATION } from './frame-tap.js';
import { quoteIdent, quoteLiteral } from './sql.js';

// The walsender formats values with its session settings: make them fixed and lossless. They go in the
// startup options and are set again after connecting, because `options=` in a connection string (and
// PGOPTIONS) replaces the startup options node-postgres sends.
const PINNED: readonly [string, string][] = [
  ['DateStyle', 'ISO'],
  ['TimeZone', 'UTC'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
];
const SESSION = PINNED.map(([k, v]) => `-c ${k}=${v}`).join(' ');
const PIN_SQL = `SELECT ${PINNED.map(([k, v]) => `set_config('${k}', '${v}', false)`).join(', ')}`;

export interface StartOptions {
  slot: string;
  publication: string;
  protocolVersion: 1 | 2 | 3 | 4;
  binary: boolean;
  messages: boolean;
  streaming: boolean;
  twoPhase: boolean;
  startLsn: bigint;
  /** `'none'`: only changes without a replication origin (PG16+). */
  origin: 'any' | 'none';
}

export interface ReplicationHandlers {
  /** An XLogData frame, copied; the pgoutput message starts at offset 25. */
  data(frame: Buffer, dataStart: bigint): void;
  keepalive(walEnd: bigint, replyRequested: boolean): void;
  /** The stream ended or failed. */
  end(error: Error | null): void;
}

const PG_EPOCH_US = 946_684_800_000_000n;
/** How long a stop waits for the server to end the stream before it closes the socket anyway. */
const END_TIMEOUT_MS = 10_000;

export class ReplicationConnection {
  private readonly client: pg.Client;
  private connection: {
    stream: { pause(): void; resume(): void };
    sendCopyFromChunk(b: Buffer): void;
    endCopyFrom(): void;
  } | null = null;
  /** Settles when START_REPLICATION has ended (the server's CommandComplete, or an error); null before start. */
  private streamEnded: Promise<void> | null = null;
  private ended = false;
  /** end() was called: the client is closed (or closing), once. */
  private closing = false;
  /** The stream was failed on our side (a warning that means lost changes); the connection is still open. */
  private failed = false;

  constructor(private readonly config: pg.ClientConfig) {
    const options = [config.options, SESSION].filter(Boolean).join(' ');
    this.client = new pg.Client({ ...config, replication: 'database', options } as pg.ClientConfig);
    this.client.on('error', () => {}); // surfaced through the START_REPLICATION promise
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      throw new ConnectionError(
        withConnectReason(`cannot open the replication connection to ${where(this.config)}`, err),
        { cause: err },
      );
    }
    try {
      await this.client.query(PIN_SQL);
    } catch (err) {
      throw new ConnectionError('cannot pin the session settings of the replication connection', { cause: err });
    }
  }

  /** IDENTIFY_SYSTEM: the cluster's system identifier and the server's current timeline. */
  async identify(): Promise<{ systemId: string; timeline: number }> {
    const r = await this.client.query('IDENTIFY_SYSTEM');
    const row = r.rows[0] as { systemid: string; timeline: string | number };
    return { systemId: String(row.systemid), timeline: Number(row.timeline) };
  }

  /** CREATE_REPLICATION_SLOT on this connection (a temporary slot lives as long as this connection). */
  async createSlot(
    slot: string,
    temporary: boolean,
    twoPhase: boolean,
    serverVersion: number,
    exportSnapshot = false,
    failover = false,
  ): Promise<{ consistentPoint: bigint; snapshotName: string | null }> {
    const temp = temporary ? ' TEMPORARY' : '';
    // FAILOVER exists from 17 on (setup refuses the option before that).
    const opts =
      serverVersion >= 150000
        ? ` (SNAPSHOT '${exportSnapshot ? 'export' : 'nothing'}'${twoPhase ? ', TWO_PHASE true' : ''}${failover ? ', FAILOVER true' : ''})`
        : ` ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}${twoPhase ? ' TWO_PHASE' : ''}`;
    const r = await this.client.query<{ consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${temp} LOGICAL pgoutput${opts}`,
    );
    const row = r.rows[0] as { consistent_point: string; snapshot_name: string | null };
    return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name ?? null };
  }

  /** Starts streaming; resolves once the server has entered CopyBoth mode. */
  start(o: StartOptions, handlers: ReplicationHandlers): Promise<void> {
    const conn = (
      this.client as unknown as { connection: NonNullable<ReplicationConnection['connection']> & NodeJS.EventEmitter }
    ).connection;
    this.connection = conn;
    const params = [
      `proto_version '${o.protocolVersion}'`,
      `publication_names ${quoteLiteral(quoteIdent(o.publication))}`,
    ];
    if (o.binary) params.push(`binary 'true'`);
    if (o.messages) params.push(`messages 'true'`);
    if (o.streaming) params.push(`streaming '${o.protocolVersion >= 4 ? 'parallel' : 'on'}'`);
    if (o.twoPhase) params.push(`two_phase 'true'`);
    if (o.origin === 'none') params.push(`origin 'none'`);
    const lsn = `${(o.startLsn >> 32n).toString(16).toUpperCase()}/${(o.startLsn & 0xffffffffn).toString(16).toUpperCase()}`;
    const sql = `START_REPLICATION SLOT ${quoteIdent(o.slot)} LOGICAL ${lsn} (${params.join(', ')})`;

    // From PostgreSQL 18 a publication missing at a point of the WAL is only a WARNING, and the changes it would
    // have published are skipped: the reader would confirm past them. It is the error earlier versions raise.
    this.client.on('notice', (n: { code?: string | undefined; message?: string | undefined }) => {
      const text = n.message ?? '';
      // 18 says 55000 "skipped loading publication"; 42704 is the code the error has elsewhere.
      if ((n.code !== '55000' && n.code !== '42704') || !/publication/.test(text)) return;
      if (this.failed || this.ended) return;
      this.failed = true;
      handlers.end(new PublicationMissingError(/"([^"]*)"/.exec(text)?.[1] ?? o.publication, true));
    });
    /** One CopyData payload, bytes [s, e) of `b`, which stay as they are (the queue keeps XLogData frames). */
    const onFrame = (b: Buffer, s: number, e: number): void => {
      if (this.failed || this.ended) return; // after end(): what the server sent before its CopyDone
      if (b[s] === 0x77 /* w */) {
        const frame = b.subarray(s, e);
        handlers.data(frame, lsnFromParts(frame.readUInt32BE(1), frame.readUInt32BE(5)));
      } else if (b[s] === 0x6b /* k */) {
        handlers.keepalive(lsnFromParts(b.readUInt32BE(s + 1), b.readUInt32BE(s + 5)), b[s + 17] === 1);
      }
    };
    // Frames straight off the socket (see frame-tap.ts); pg's parser keeps the rest of the protocol.
    FrameTap.attach(conn as unknown as { stream?: EventEmitter }, onFrame, REPLICATION);
    // When the tap could not take the socket: pg's messages, copied (pg's parser reuses its buffer).
    conn.on('copyData', (msg: { chunk: Buffer }) => onFrame(Buffer.from(msg.chunk), 0, msg.chunk.length));
    return new Promise<void>((resolve, reject) => {
      let started = false;
      conn.once('replicationStart', () => {
        started = true;
        resolve();
      });
      this.streamEnded = this.client.query(sql).then(
        () => this.finish(handlers, null),
        (err: Error) => {
          const mapped = mapServerError(err, o.slot);
          if (!started) reject(mapped);
          else this.finish(handlers, mapped);
        },
      );
    });
  }

  pause(): void {
    this.connection?.stream.pause();
  }

  resume(): void {
    this.connection?.stream.resume();
  }

  /**
   * Standby status update: flushed and applied = `lsn` (what every sink holds; the slot moves to it), written =
   * `written` (what was received), so pg_stat_replication's write_lag and flush_lag mean something.
   */
  sendStatus(lsn: bigint, written: bigint = lsn, replyRequested = false): void {
    if (this.connection === null || this.ended) return;
    const b = Buffer.alloc(34);
    b[0] = 0x72; // r
    b.writeBigUInt64BE(written > lsn ? written : lsn, 1);
    b.writeBigUInt64BE(lsn, 9);
    b.writeBigUInt64BE(lsn, 17);
    b.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    b[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(b);
  }

  /**
   * Ends the stream the way the protocol says: CopyDone, then wait for the server's own CopyDone and the end of
   * START_REPLICATION, then Terminate. The server reads what we sent before our CopyDone, the last status update
   * included, before it answers. Closing the socket instead (node-postgres destroys it when a query is active)
   * resets a connection that still has unread data: a walsender busy sending dies of the reset on its next write,
   * before it reads that update, and a restart delivers again what was already confirmed.
   */
  async end(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // A stream the server already ended (an error, a lost connection) has nothing to end; the client still closes.
    const streaming = !this.ended;
    this.ended = true;
    const conn = this.connection;
    const streamEnded = this.streamEnded;
    if (streaming && conn !== null && streamEnded !== null) {
      conn.stream.resume(); // read (and drop) what the server still sends until its CopyDone
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        conn.endCopyFrom();
        await Promise.race([streamEnded, new Promise<void>((r) => (timer = setTimeout(r, END_TIMEOUT_MS)))]);
      } catch {
        // the connection is already gone: nothing more to say to the server
      } finally {
        clearTimeout(timer);
      }
    }
    await this.client.end().catch(() => {});
  }

  private finish(handlers: ReplicationHandlers, error: Error | null): void {
    if (this.failed) {
      this.ended = true; // already reported
      return;
    }
    if (this.ended && error !== null) error = null; // we closed it
    this.ended = true;
    handlers.end(error);
  }
}

const INVALIDATED =
  /invalidated|cannot read from logical replication slot|can no longer (get changes from|access) replication slot/i;

/** Server errors that mean something specific to a CDC consumer get their own types. */
export function mapServerError(err: Error, slot: string): Error {
  const e = err as Error & { code?: string };
  if (e.code === '55006') {
    const pid = /PID (\d+)/.exec(e.message);
    return new SlotActiveError(slot, pid ? Number(pid[1]) : null, { cause: err });
  }
  // A slot invalidated while the reader was away (it learns on reconnect): "cannot read from logical replication
  // slot" up to PostgreSQL 16 (its detail says invalidated), "can no longer access replication slot" from 17 on;
  // "can no longer get changes from replication slot" when the WAL it needs was removed.
  if (e.code === '55000' && INVALIDATED.test(`${e.message}\n${(e as { detail?: string }).detail ?? ''}`)) {
    return new SlotInvalidatedError(slot, e.message, { cause: err });
  }
  if (e.code === '42704') {
    // Also "publication ... does not exist" (dropped while streaming): the slot is fine, do not advise dropping it.
    const pub = /publication "([^"]*)"/.exec(e.message);
    if (pub) return new PublicationMissingError(pub[1] as string, true);
    return new SlotInvalidatedError(slot, 'the slot no longer exists', { cause: err });
  }
  if (!e.code || /^E[A-Z]+$/.test(e.code) || e.code.startsWith('08') || e.code === '57P01' || e.code === '57P03') {
    return new ConnectionError('replication connection lost', { cause: err });
  }
  return new WalstreamError(ErrorCode.Reader, `replication failed: ${e.code} ${e.message}`, { cause: err });
}

/** `host:port` of a connection, for error messages (never the user or password). */
export function where(config: pg.ClientConfig): string {
  let host = config.host;
  let port: string | number | undefined = config.port;
  if (config.connectionString) {
    try {
      const u = new URL(config.connectionString);
      host = host ?? (decodeURIComponent(u.hostname) || u.searchParams.get('host') || undefined);
      port = port ?? (u.port || undefined);
    } catch {
      // not a URL (key=value form): fall through to the defaults
    }
  }
  return `${host ?? process.env.PGHOST ?? 'localhost'}:${port ?? process.env.PGPORT ?? 5432}`;
}
