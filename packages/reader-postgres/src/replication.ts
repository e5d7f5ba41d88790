/**
 * One replication connection (`replication=database`): creates the slot when asked, runs START_REPLICATION
 * and turns the CopyBoth stream into copied XLogData frames plus keepalive callbacks. It never decides what to
 * confirm; `sendStatus` sends whatever position the reader gives it.
 */
import { ErrorCode, lsnFromParts, WalstreamError } from '@walstream/core';
import pg from 'pg';
import { ConnectionError, SlotActiveError, SlotInvalidatedError } from './errors.js';
import { quoteIdent, quoteLiteral } from './sql.js';

// The walsender formats values with its session settings: make them fixed and lossless.
const SESSION =
  '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

export interface StartOptions {
  slot: string;
  publication: string;
  protocolVersion: 1 | 2 | 3 | 4;
  binary: boolean;
  messages: boolean;
  streaming: boolean;
  twoPhase: boolean;
  startLsn: bigint;
}

export interface ReplicationHandlers {
  /** An XLogData frame, copied; the pgoutput message starts at offset 25. */
  data(frame: Buffer, dataStart: bigint): void;
  keepalive(walEnd: bigint, replyRequested: boolean): void;
  /** The stream ended or failed. */
  end(error: Error | null): void;
}

const PG_EPOCH_US = 946_684_800_000_000n;

export class ReplicationConnection {
  private readonly client: pg.Client;
  private connection: { stream: { pause(): void; resume(): void }; sendCopyFromChunk(b: Buffer): void } | null = null;
  private ended = false;

  constructor(config: pg.ClientConfig) {
    const options = [config.options, SESSION].filter(Boolean).join(' ');
    this.client = new pg.Client({ ...config, replication: 'database', options } as pg.ClientConfig);
    this.client.on('error', () => {}); // surfaced through the START_REPLICATION promise
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      throw new ConnectionError('cannot open the replication connection', { cause: err });
    }
  }

  /** IDENTIFY_SYSTEM: the cluster's system identifier and the server's current timeline. */
  async identify(): Promise<{ systemId: string; timeline: number }> {
    const r = await this.client.query('IDENTIFY_SYSTEM');
    const row = r.rows[0] as { systemid: string; timeline: string | number };
    return { systemId: String(row.systemid), timeline: Number(row.timeline) };
  }

  /** CREATE_REPLICATION_SLOT on this connection (a temporary slot lives as long as this connection). */
  async createSlot(slot: string, temporary: boolean, twoPhase: boolean, serverVersion: number): Promise<void> {
    const temp = temporary ? ' TEMPORARY' : '';
    const opts =
      serverVersion >= 150000
        ? ` (SNAPSHOT 'nothing'${twoPhase ? ', TWO_PHASE true' : ''})`
        : ` NOEXPORT_SNAPSHOT${twoPhase ? ' TWO_PHASE' : ''}`;
    await this.client.query(`CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${temp} LOGICAL pgoutput${opts}`);
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
    const lsn = `${(o.startLsn >> 32n).toString(16).toUpperCase()}/${(o.startLsn & 0xffffffffn).toString(16).toUpperCase()}`;
    const sql = `START_REPLICATION SLOT ${quoteIdent(o.slot)} LOGICAL ${lsn} (${params.join(', ')})`;

    conn.on('copyData', (msg: { chunk: Buffer }) => {
      const c = msg.chunk;
      if (c[0] === 0x77 /* w */) {
        const frame = Buffer.allocUnsafe(c.length);
        c.copy(frame);
        handlers.data(frame, lsnFromParts(frame.readUInt32BE(1), frame.readUInt32BE(5)));
      } else if (c[0] === 0x6b /* k */) {
        handlers.keepalive(lsnFromParts(c.readUInt32BE(1), c.readUInt32BE(5)), c[17] === 1);
      }
    });
    return new Promise<void>((resolve, reject) => {
      let started = false;
      conn.once('replicationStart', () => {
        started = true;
        resolve();
      });
      this.client.query(sql).then(
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

  /** Standby status update: written, flushed and applied all set to `lsn` (what every sink holds). */
  sendStatus(lsn: bigint, replyRequested = false): void {
    if (this.connection === null || this.ended) return;
    const b = Buffer.alloc(34);
    b[0] = 0x72; // r
    b.writeBigUInt64BE(lsn, 1);
    b.writeBigUInt64BE(lsn, 9);
    b.writeBigUInt64BE(lsn, 17);
    b.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    b[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(b);
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.connection?.stream.resume();
    await this.client.end().catch(() => {});
  }

  private finish(handlers: ReplicationHandlers, error: Error | null): void {
    if (this.ended && error !== null) error = null; // we closed it
    this.ended = true;
    handlers.end(error);
  }
}

/** Server errors that mean something specific to a CDC consumer get their own types. */
export function mapServerError(err: Error, slot: string): Error {
  const e = err as Error & { code?: string };
  if (e.code === '55006') {
    const pid = /PID (\d+)/.exec(e.message);
    return new SlotActiveError(slot, pid ? Number(pid[1]) : null, { cause: err });
  }
  if (e.code === '55000' && /invalidated|can no longer get changes/i.test(e.message)) {
    return new SlotInvalidatedError(slot, e.message, { cause: err });
  }
  if (e.code === '42704') return new SlotInvalidatedError(slot, 'the slot no longer exists', { cause: err });
  if (!e.code || /^E[A-Z]+$/.test(e.code) || e.code.startsWith('08') || e.code === '57P01' || e.code === '57P03') {
    return new ConnectionError('replication connection lost', { cause: err });
  }
  return new WalstreamError(ErrorCode.Reader, `replication failed: ${e.code} ${e.message}`, { cause: err });
}
