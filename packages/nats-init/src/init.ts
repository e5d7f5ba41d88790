/**
 * The reference bridge's bootstrap protocol. At start the schema of every published table goes to the KV bucket.
 * A request on `snapshot.request.{table}` starts an on-demand snapshot of that table through the reader
 * (watermarks, so CDC keeps flowing); the sink part of this object, placed in the same pipeline, publishes the
 * snapshot's rows as chunks on `init.snap.{table}.{snapshot_id}.{chunk}` and, after the last one, the metadata on
 * `init.meta.{table}`. Contract: apply every chunk, then every CDC event whose commit LSN is above `lsn`, and the
 * table is reproduced exactly.
 */
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  type Batch,
  ErrorCode,
  type Logger,
  type Row,
  type Sink,
  SinkError,
  silentLogger,
  WalstreamError,
} from '@walstream/core';
import { parseTableName, quoteIdent } from '@walstream/reader-postgres';
import { ensureStream, loadZstd, mapNatsError, schemaKey, subjectToken } from '@walstream/sink-nats';
import pg from 'pg';
import { type NatsInitOptions, type ResolvedNatsInitOptions, resolveNatsInitOptions } from './options.js';
import { encodeChunk, encodeMeta, type InitMeta } from './payload.js';
import { publishedSchemas } from './schemas.js';

export interface InitSnapshot {
  readonly snapshotId: string;
  /** `schema.table` */
  readonly table: string;
  readonly lsn: string;
  /** Resolves once the metadata message is durable in JetStream. */
  readonly done: Promise<InitMeta>;
}

export interface NatsInit {
  /** Put this in the pipeline's sinks (beside the CDC sink): it publishes the chunks of snapshots started here. */
  readonly sink: Sink;
  /** Connects, publishes the schemas to KV and listens for requests. Call after `pipeline.start()`. */
  start(): Promise<void>;
  /** Starts a snapshot of `table` (`schema.table` or a table name), as a request on NATS would. */
  snapshot(table: string): Promise<InitSnapshot>;
  close(): Promise<void>;
}

interface Active {
  readonly snapshotId: string;
  readonly token: string;
  /** What payloads call the table (see `payloadTable`). */
  readonly label: string;
  readonly lsn: string;
  /** Rows of each watermark transaction (one chunk each), by event id so a retried batch changes nothing. */
  readonly open: Map<bigint, Map<string, Row>>;
  readonly chunks: Map<bigint, { no: number; rows: number }>;
  expected: number | null;
  finishing: boolean;
  resolve(m: InitMeta): void;
  reject(e: Error): void;
}

export function createNatsInit(options: NatsInitOptions): NatsInit {
  return new Init(resolveNatsInitOptions(options));
}

class Init implements NatsInit {
  readonly sink: Sink;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private db: pg.Client | null = null;
  private sub: Subscription | null = null;
  private compress: ((d: Uint8Array) => Uint8Array) | null = null;
  private readonly active = new Map<string, Active>();
  private readonly log: Logger;

  constructor(private readonly o: ResolvedNatsInitOptions) {
    this.log = o.logger ?? silentLogger;
    this.sink = { name: 'nats-init', write: (b) => this.write(b), close: () => this.close() };
  }

  async start(): Promise<void> {
    if (this.nc !== null) return;
    if (this.o.compression === 'zstd') this.compress = (await loadZstd()).compress;
    try {
      this.nc = await connect({
        servers: this.o.servers,
        maxReconnectAttempts: -1,
        name: 'walstream-init',
        ...this.o.connection,
      });
    } catch (err) {
      throw mapNatsError(err, `cannot connect to NATS at ${this.o.servers.join(',')}`);
    }
    this.js = jetstream(this.nc, { timeout: this.o.ackTimeoutMs });
    if (this.o.stream) await ensureStream(this.nc, this.o.stream);
    this.db = new pg.Client(this.o.database);
    this.db.on('error', (err) => this.log.warn('nats-init database connection error', { error: err.message }));
    await this.db.connect();
    if (this.o.schemaBucket !== false) {
      const kv = await new Kvm(this.nc).create(this.o.schemaBucket);
      for (const s of await publishedSchemas(this.db, this.o.publication)) {
        await kv.put(schemaKey(s.schema, s.table), JSON.stringify(s));
      }
    }
    // `.>`: a request names the table by one subject token or by two (schema.table).
    this.sub = this.nc.subscribe(`${this.o.requestSubject}.>`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const table = msg.subject.slice(this.o.requestSubject.length + 1);
        this.snapshot(table).then(
          (s) => msg.respond(JSON.stringify({ snapshot_id: s.snapshotId, table: s.table, lsn: s.lsn })),
          (e: Error) => msg.respond(JSON.stringify({ error: e.message, code: (e as WalstreamError).code ?? null })),
        );
      },
    });
  }

  async snapshot(table: string): Promise<InitSnapshot> {
    const db = this.db;
    if (db === null) throw new WalstreamError(ErrorCode.Config, 'nats-init: call start() first');
    let info: { schema: string; table: string };
    try {
      info = this.resolveTable(table, this.o.reader.tables);
    } catch {
      // Perhaps added to the publication since the start: look again (the reader does the same for its copy).
      const now = await db.query<{ schema: string; table: string }>(
        'SELECT schemaname AS schema, tablename AS "table" FROM pg_publication_tables WHERE pubname = $1',
        [this.o.publication],
      );
      info = this.resolveTable(table, now.rows);
    }
    const name = `${info.schema}.${info.table}`;
    if (this.active.has(name)) throw new SinkError(`a snapshot of ${name} is already running`);
    // Every change the chunks may miss commits after this point (see the reader's watermark rule).
    const r = await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const lsn = (r.rows[0] as { lsn: string }).lsn;
    // Quoted: the reader reads the name as SQL, where an unquoted part is folded to lower case.
    const quoted = `${quoteIdent(info.schema)}.${quoteIdent(info.table)}`;
    const handle = this.o.reader.requestSnapshot([quoted], { chunkRows: this.o.chunkRows });
    await handle.accepted;
    let resolve!: (m: InitMeta) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<InitMeta>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {});
    const a: Active = {
      snapshotId: handle.id,
      token: subjectToken(info.table),
      label: this.o.payloadTable === 'name' ? info.table : name,
      lsn,
      open: new Map(),
      chunks: new Map(),
      expected: null,
      finishing: false,
      resolve,
      reject,
    };
    this.active.set(name, a);
    handle.done.then(
      (res) => {
        a.expected = res.rows[name] ?? 0;
        void this.maybeFinish(name, a).catch((e: Error) =>
          this.log.warn('nats-init metadata not published', { error: e.message }),
        );
      },
      (e: Error) => {
        this.active.delete(name);
        reject(e);
      },
    );
    return { snapshotId: handle.id, table: a.label, lsn, done };
  }

  /**
   * The published table a request or snapshot() names, tried in this order: the name as it is (`Order Lines`,
   * `b.items`; schema public first without a dot), as SQL (`"Order Lines"`, `public."a.b"`), as subject tokens
   * (`Order_Lines`, `b.items`: escaped as sink-nats does). A token that fits several tables is refused.
   */
  private resolveTable(
    spec: string,
    tables: readonly { schema: string; table: string }[],
  ): { schema: string; table: string } {
    const one = (found: readonly { schema: string; table: string }[]) => {
      if (found.length > 1 && found.some((t) => t.schema === 'public')) return found.find((t) => t.schema === 'public');
      if (found.length > 1) {
        throw new SinkError(`table ${spec} is ambiguous (${found.map((t) => `${t.schema}.${t.table}`).join(', ')})`);
      }
      return found[0];
    };
    const qualified = tables.find((t) => `${t.schema}.${t.table}` === spec);
    if (qualified !== undefined) return qualified;
    const literal = one(tables.filter((t) => t.table === spec));
    if (literal !== undefined) return literal;
    let sqlName: { schema: string; table: string } | null = null;
    try {
      sqlName = parseTableName(spec);
    } catch {
      // not a SQL name: tokens below
    }
    const bySql = sqlName && tables.find((t) => t.schema === sqlName.schema && t.table === sqlName.table);
    if (bySql) return bySql;
    const byToken = one(
      tables.filter(
        (t) => subjectToken(t.table) === spec || `${subjectToken(t.schema)}.${subjectToken(t.table)}` === spec,
      ),
    );
    if (byToken !== undefined) return byToken;
    throw new SinkError(`table ${spec} is not published by this pipeline`);
  }

  private async write(batch: Batch): Promise<void> {
    if (this.active.size === 0) return;
    const commits = batch.commits;
    let ci = 0;
    const flushes: Promise<unknown>[] = [];
    for (const e of batch.events) {
      while (ci < commits.length && (commits[ci]?.position.lsn as bigint) < e.position.lsn) {
        this.flush(commits[ci++]?.position.lsn as bigint, flushes);
      }
      if (e.operation !== 'READ') continue;
      const a = this.active.get(`${e.schema}.${e.table}`);
      if (a === undefined) continue;
      let rows = a.open.get(e.position.lsn);
      if (rows === undefined) {
        rows = new Map();
        a.open.set(e.position.lsn, rows);
      }
      rows.set(e.id, e.after as Row);
    }
    while (ci < commits.length) this.flush(commits[ci++]?.position.lsn as bigint, flushes);
    await Promise.all(flushes);
    for (const [name, a] of this.active) await this.maybeFinish(name, a);
  }

  /** A watermark transaction ended: its rows are one chunk. */
  private flush(lsn: bigint, out: Promise<unknown>[]): void {
    for (const a of this.active.values()) {
      const rows = a.open.get(lsn);
      if (rows === undefined) continue;
      let c = a.chunks.get(lsn);
      if (c === undefined) {
        c = { no: a.chunks.size, rows: rows.size };
        a.chunks.set(lsn, c);
      }
      const payload = encodeChunk(
        {
          table: a.label,
          operation: 'snapshot',
          snapshot_id: a.snapshotId,
          chunk: c.no,
          lsn: a.lsn,
          data: [...rows.values()],
        },
        this.o.json,
      );
      const chunkNo = c.no;
      out.push(
        this.publish(
          `${this.o.prefix}.snap.${a.token}.${a.snapshotId}.${chunkNo}`,
          payload,
          `${a.snapshotId}.${chunkNo}`,
        ).then(() => a.open.delete(lsn)),
      );
    }
  }

  private async maybeFinish(name: string, a: Active): Promise<void> {
    if (a.expected === null || a.finishing || a.open.size > 0) return;
    let rows = 0;
    for (const c of a.chunks.values()) rows += c.rows;
    if (rows < a.expected) return;
    a.finishing = true;
    const meta: InitMeta = {
      snapshot_id: a.snapshotId,
      lsn: a.lsn,
      timestamp: new Date().toISOString(),
      batch_count: a.chunks.size,
      row_count: rows,
      table: a.label,
    };
    try {
      await this.publish(`${this.o.prefix}.meta.${a.token}`, encodeMeta(meta, this.o.json), `${a.snapshotId}.meta`);
    } catch (err) {
      a.finishing = false;
      throw err;
    }
    this.active.delete(name);
    a.resolve(meta);
  }

  private async publish(subject: string, payload: Uint8Array, msgID: string): Promise<void> {
    const js = this.js;
    if (js === null) throw new SinkError('nats-init: not started', { retriable: true });
    const h = headers();
    h.set('Content-Type', this.o.json ? 'application/json' : 'application/msgpack');
    let data = payload;
    if (this.compress !== null) {
      data = this.compress(payload);
      h.set('Content-Encoding', 'zstd');
    }
    try {
      await js.publish(subject, data, { msgID, headers: h, timeout: this.o.ackTimeoutMs });
    } catch (err) {
      throw mapNatsError(err, `publish to ${subject}`);
    }
  }

  async close(): Promise<void> {
    for (const a of this.active.values()) a.reject(new WalstreamError(ErrorCode.Stopped, 'nats-init closed'));
    this.active.clear();
    this.sub?.unsubscribe();
    this.sub = null;
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc !== null) await nc.drain().catch(() => nc.close());
    await this.db?.end().catch(() => {});
    this.db = null;
  }
}
