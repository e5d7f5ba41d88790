/**
 * A physical replication connection (`replication=true`). pg's Client opens it (TLS, password, SCRAM), then
 * this class takes the connection's message stream over: walsender commands return several result sets and
 * COPY streams (BASE_BACKUP, START_REPLICATION) that pg's query machinery does not model.
 */
import net from 'node:net';
import { withConnectReason } from '@walstream/core/internal';
import pg from 'pg';
import { type BackendMessage, BackendParser, type SlabPool } from './backend.js';
import { PhysicalConnectionError, PhysicalServerError } from './errors.js';

export interface ResultSet {
  readonly columns: readonly string[];
  readonly rows: (string | null)[][];
}

export interface CopyHandlers {
  /** A CopyData payload. The receiver owns it (a view of a slab that is never reused): keep it without copying. */
  data(chunk: Buffer): void;
  /** The server ended its side of the COPY (CopyDone). */
  done?(): void;
  /** CopyOut/CopyBoth started. */
  started?(): void;
  /** A result row that arrived during the command (BASE_BACKUP sends some before its COPY). */
  row?(columns: readonly string[], row: readonly (string | null)[]): void;
}

interface RawConnection extends NodeJS.EventEmitter {
  stream: NodeJS.ReadableStream & { pause(): void; resume(): void; destroy(): void };
  sendCopyFromChunk(b: Buffer): void;
  endCopyFrom(): void;
  query(text: string): void;
}

interface Pending {
  sets: ResultSet[];
  current: ResultSet | null;
  error: PhysicalServerError | null;
  copy: CopyHandlers | null;
  resolve(sets: ResultSet[]): void;
  reject(err: Error): void;
}

export class WireSession {
  private pending: Pending | null = null;
  private closed = false;
  private lost: Error | null = null;
  private readonly parser: BackendParser;

  private constructor(
    private readonly client: pg.Client,
    private readonly conn: RawConnection,
    tap: ReadTap,
  ) {
    // From here on this session parses the server's messages itself (backend.ts says why); pg's parser is idle.
    conn.stream.removeAllListeners('data');
    const parser = tap.parser;
    this.parser = parser;
    parser.emit = (msg) => this.onMessage(msg);
    if (tap.socket !== null) tap.taken = true;
    else conn.stream.on('data', (b: Buffer) => parser.feed(b));
    conn.on('end', () => this.onLost(new PhysicalConnectionError('the server closed the replication connection')));
    conn.on('error', (err: Error) => this.onLost(new PhysicalConnectionError('replication connection lost', err)));
  }

  /**
   * @param pool slabs to read into; `recycleFull` hands each full one back at once (see BackendParser), for a
   *   receiver that keeps nothing past its data() callback
   */
  static async connect(
    connectionString: string,
    applicationName: string,
    pool?: SlabPool,
    recycleFull = false,
  ): Promise<WireSession> {
    const tap: ReadTap = { socket: null, taken: false, parser: new BackendParser(pool ?? null, recycleFull) };
    const client = new pg.Client({
      connectionString,
      replication: 'true',
      application_name: applicationName,
      stream: (cfg: { ssl?: unknown }) => (cfg.ssl ? new net.Socket() : tappedSocket(tap)),
    } as unknown as pg.ClientConfig);
    client.on('error', () => {}); // surfaced through the session's pending command
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw new PhysicalConnectionError(withConnectReason('cannot open the replication connection', err), err);
    }
    const conn = (client as unknown as { connection: RawConnection }).connection;
    return new WireSession(client, conn, tap);
  }

  /** A walsender command; resolves with its result sets after ReadyForQuery. */
  query(sql: string): Promise<ResultSet[]> {
    return this.run(sql, null);
  }

  /** A command that enters COPY (BASE_BACKUP, START_REPLICATION): data goes to the handlers. */
  copy(sql: string, handlers: CopyHandlers): Promise<ResultSet[]> {
    return this.run(sql, handlers);
  }

  sendCopyData(b: Buffer): void {
    if (!this.closed && this.lost === null) this.conn.sendCopyFromChunk(b);
  }

  sendCopyDone(): void {
    if (!this.closed && this.lost === null) this.conn.endCopyFrom();
  }

  /** The slab the socket reads into now: not to be handed back to the pool yet. */
  get currentSlab(): ArrayBufferLike {
    return this.parser.currentSlab;
  }

  pause(): void {
    this.conn.stream.pause();
  }

  resume(): void {
    this.conn.stream.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.stream.resume();
    const p = this.pending;
    this.pending = null;
    p?.reject(new PhysicalConnectionError('the replication connection was closed'));
    // A walsender in COPY does not answer Terminate promptly; pg's end() waits for the socket to close.
    const ended = this.client.end().catch(() => {});
    const timer = setTimeout(() => this.conn.stream.destroy(), 2000);
    await ended;
    clearTimeout(timer);
  }

  private run(sql: string, copy: CopyHandlers | null): Promise<ResultSet[]> {
    if (this.closed) return Promise.reject(new PhysicalConnectionError('the replication connection was closed'));
    if (this.lost) return Promise.reject(this.lost);
    if (this.pending) return Promise.reject(new Error('a replication command is already running'));
    return new Promise<ResultSet[]>((resolve, reject) => {
      this.pending = { sets: [], current: null, error: null, copy, resolve, reject };
      this.conn.query(sql);
    });
  }

  private onLost(err: Error): void {
    if (this.lost !== null) return;
    this.lost = err;
    const p = this.pending;
    this.pending = null;
    if (p && !this.closed) p.reject(err);
  }

  private onMessage(msg: BackendMessage): void {
    const p = this.pending;
    if (p === null) return;
    switch (msg.name) {
      case 'copyData':
        p.copy?.data(msg.chunk);
        return;
      case 'copyOutResponse':
      case 'copyBothResponse':
        p.copy?.started?.();
        return;
      case 'copyDone':
        p.copy?.done?.();
        return;
      case 'rowDescription': {
        p.current = { columns: msg.fields.map((f) => f.name), rows: [] };
        p.sets.push(p.current);
        return;
      }
      case 'dataRow': {
        const row = msg.fields;
        p.current?.rows.push(row);
        if (p.current) p.copy?.row?.(p.current.columns, row);
        return;
      }
      case 'commandComplete':
        p.current = null;
        return;
      case 'error':
        p.error = new PhysicalServerError({
          ...(msg.code !== undefined ? { code: msg.code } : {}),
          message: msg.message,
        });
        return;
      case 'readyForQuery':
        this.pending = null;
        if (p.error) p.reject(p.error);
        else p.resolve(p.sets);
        return;
    }
  }
}

/** Where a plain TCP socket's reads go: pg's parser (as 'data' events) until the session takes them over. */
interface ReadTap {
  socket: net.Socket | null;
  taken: boolean;
  parser: BackendParser;
}

/**
 * A socket that reads straight into the parser's slabs (net's `onread`) instead of a new 64 KiB buffer per
 * read that the parser would copy again: a replication stream moves hundreds of MB/s. Before the session
 * takes over (startup, authentication) each read is copied out as an ordinary 'data' event for pg and its
 * slab space reused. TLS wraps the socket and reads it itself: an ssl connection keeps an ordinary socket.
 */
function tappedSocket(tap: ReadTap): net.Socket {
  // `onread` is a constructor option since Node 12 (older @types/node list it for connect() only).
  const socket = new net.Socket({
    onread: {
      buffer: () => tap.parser.buffer(),
      callback: (n: number, buf: Uint8Array) => {
        if (tap.taken) tap.parser.wrote(n);
        else socket.emit('data', Buffer.from(buf.subarray(0, n)));
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  tap.socket = socket;
  return socket;
}

/** The first row of the first result set, as a column -> value map. */
export function firstRow(sets: readonly ResultSet[], index = 0): Record<string, string | null> {
  const set = sets[index];
  const row = set?.rows[0];
  if (!set || !row) throw new PhysicalServerError({ message: 'the server sent no result row' });
  return Object.fromEntries(set.columns.map((c, i) => [c, row[i] ?? null]));
}
