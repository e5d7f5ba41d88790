/**
 * Snapshots for one reader: the initial copy inside the slot's exported snapshot, on-demand copies while
 * streaming (DBLog watermarks, see window.ts), checkpoints of what every sink holds, and resuming after a crash
 * as an on-demand snapshot (the exported snapshot dies with its session, so the rest is never a silent gap).
 *
 * The reader calls in at a few points: open (validate, load checkpoints), slot creation (export and import),
 * read (initial items first, then `pass` for every streamed item), ack (checkpoints) and close.
 */
import { randomBytes } from 'node:crypto';
import {
  type ChangeEvent,
  ConfigError,
  comparePositions,
  formatLsn,
  type Logger,
  type Position,
  type ReaderItem,
  type Row,
  type SchemaChange,
  type TableSnapshotProgress,
  type TransactionCommit,
  WalstreamError,
} from '@walstream/core';
import pg from 'pg';
import { publishedTables, type TableInfo } from '../setup.js';
import { parseTableName } from '../sql.js';
import type { TypeRegistry } from '../types/registry.js';
import { createPostgresCheckpointStore, type SnapshotCheckpointStore, type SnapshotJobState } from './checkpoint.js';
import { NoPrimaryKeyError, SnapshotError } from './errors.js';
import { runInitial } from './initial.js';
import { type Job, type PendingChunk, runJob } from './job.js';
import { MAX_CHUNK_ROWS, type ResolvedSnapshotOptions } from './options.js';
import { SnapshotProgress } from './progress.js';
import { rowDecoder, type SnapshotTable } from './table.js';
import type { ChangeWindow } from './window.js';

/**
 * Pinned like the replication session, so copied values decode exactly like streamed ones. row_security=off: a
 * row-security policy on a copied table must never run nor hide rows; Postgres refuses the copy instead.
 * standard_conforming_strings: chunk boundaries go into COPY statements as '...' literals (see table.ts);
 * client_encoding: COPY rows are parsed as UTF-8.
 */
export const SNAPSHOT_SESSION =
  '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c row_security=off -c standard_conforming_strings=on -c client_encoding=UTF8';

export interface SnapshotHost {
  readonly slot: string;
  readonly publication: string;
  readonly client: pg.ClientConfig;
  readonly types: TypeRegistry;
  readonly log: Logger;
  /** The reader's record of a transaction's last index, raised when chunk rows join a watermark transaction. */
  setLastIndex(commitLsn: bigint, lastIndex: number): void;
}

export interface SnapshotResult {
  readonly id: string;
  /** Rows handed to the pipeline, per `schema.table`. */
  readonly rows: Record<string, number>;
}

export interface SnapshotHandle {
  readonly id: string;
  /**
   * Resolves once every table is known to be published (at once for the tables the reader started with; after a
   * look at the publication for one added since); rejects with a SnapshotError for a table that is not.
   */
  readonly accepted: Promise<void>;
  /** Resolves when the last chunk has been handed to the pipeline; rejects when the snapshot fails. */
  readonly done: Promise<SnapshotResult>;
}

/** A copied row has every column: one shared (read-only) empty list, not one per event. */
const NONE_UNCHANGED: readonly string[] = Object.freeze([]);

interface AckEntry {
  readonly position: Position;
  readonly state: SnapshotJobState;
}

export class Snapshotter {
  readonly progress = new SnapshotProgress();
  readonly prefix: string;
  readonly store: SnapshotCheckpointStore;
  private readonly checkpointTable: { schema: string; table: string } | null;
  tables: readonly TableInfo[] = [];
  private opened = false;
  database = '';
  serverVersion = 0;
  /** Set by the reader: deliver users' own logical messages. */
  userMessages = false;
  private exported: { name: string; lsn: bigint } | null = null;
  private only = false;
  private readonly acks: AckEntry[] = [];
  private lastAcked: Position | null = null;
  /** Windows of the tables being copied on demand, by `schema\0table`. */
  readonly windows = new Map<string, ChangeWindow>();
  /** Chunks waiting for their high watermark, by watermark content. */
  readonly pending = new Map<string, PendingChunk>();
  private emitAt: { lsn: bigint; token: string; chunk: PendingChunk } | null = null;
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  closed = false;
  private readonly clients = new Set<pg.Client>();

  constructor(
    readonly o: ResolvedSnapshotOptions,
    readonly host: SnapshotHost,
  ) {
    this.prefix = `walstream.snapshot.${host.slot}`;
    if (o.checkpoint !== undefined) {
      this.store = o.checkpoint;
      this.checkpointTable = null;
    } else {
      const s = createPostgresCheckpointStore({ connection: host.client, table: o.checkpointTable });
      this.store = s;
      this.checkpointTable = { schema: s.schema, table: s.table };
    }
  }

  get mode(): ResolvedSnapshotOptions['mode'] {
    return this.o.mode;
  }

  /** Items must go through `pass`: messages are on for watermarks, or a copy is under way. */
  get watching(): boolean {
    return this.o.onDemand || this.o.mode !== 'never' || this.windows.size > 0 || this.pending.size > 0;
  }

  /** After setup: check the tables to copy; load unfinished snapshots of an existing slot to resume them. */
  async open(s: {
    tables: readonly TableInfo[];
    database: string;
    serverVersion: number;
    slotExists: boolean;
  }): Promise<void> {
    this.tables = s.tables;
    this.opened = true;
    this.database = s.database;
    this.serverVersion = s.serverVersion;
    if (this.o.mode !== 'never') for (const t of this.snapshotTables()) this.requirePk(t);
    if (this.o.mode === 'only' || !s.slotExists) return;
    for (const state of await this.store.load(this.host.slot)) {
      if (state.done) continue;
      this.host.log.warn('resuming an unfinished snapshot as an on-demand snapshot', {
        snapshot: state.id,
        table: state.tables[state.tableIndex]
          ? `${state.tables[state.tableIndex]?.schema}.${state.tables[state.tableIndex]?.table}`
          : null,
      });
      void this.enqueue(state).done.catch(() => {});
    }
  }

  /** Before the slot is created: whether to export its snapshot (recording the intent first, for crash resume). */
  async prepareInitial(): Promise<boolean> {
    if (this.o.mode !== 'initial') return false;
    await this.store.clear(this.host.slot);
    await this.store.save(this.host.slot, this.initialState());
    return true;
  }

  /** Right after CREATE_REPLICATION_SLOT ... SNAPSHOT 'export', before START_REPLICATION ends the export. */
  async importExported(snapshotName: string, consistentPoint: bigint): Promise<pg.Client> {
    const c = await this.connect();
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    // One below the consistent point: every streamed transaction commits at or after it.
    this.exported = { name: snapshotName, lsn: consistentPoint - 1n };
    this.exportClient = c;
    return c;
  }

  exportClient: pg.Client | null = null;

  /** `only`: a REPEATABLE READ snapshot of now, no slot. */
  async importOnly(): Promise<void> {
    const c = await this.connect();
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const r = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const [hi, lo] = (r.rows[0] as { lsn: string }).lsn.split('/') as [string, string];
    this.exported = { name: '', lsn: (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`) };
    this.exportClient = c;
    this.only = true;
  }

  /** The initial copy's items, a chunk at a time (events and its commit); nothing when there is none to take. */
  async *initialItems(): AsyncGenerator<ReaderItem[]> {
    const exp = this.exported;
    const c = this.exportClient;
    if (exp === null || c === null) return;
    this.exported = null;
    this.exportClient = null;
    yield* runInitial(this, c, exp.lsn, this.only);
  }

  /** Tables to copy, as the options name them (every published table by default). */
  snapshotTables(): TableInfo[] {
    // Never the checkpoint store's own table (a FOR ALL TABLES publication has it): its rows are no one's data.
    const own = this.checkpointTable;
    if (this.o.tables === undefined) {
      return this.tables.filter((t) => own === null || t.schema !== own.schema || t.table !== own.table);
    }
    return this.o.tables.map((spec) => this.published(spec));
  }

  published(spec: string | { schema: string; table: string }): TableInfo {
    const name = typeof spec === 'string' ? this.tableName(spec) : spec;
    const t = this.find(name);
    if (t === undefined) throw new SnapshotError(`table ${name.schema}.${name.table} is not in the publication`);
    return t;
  }

  private tableName(spec: string): { schema: string; table: string } {
    try {
      return parseTableName(spec);
    } catch (err) {
      throw new SnapshotError(`bad table name: ${(err as Error).message}`);
    }
  }

  private find(name: { schema: string; table: string }): TableInfo | undefined {
    return this.tables.find((x) => x.schema === name.schema && x.table === name.table);
  }

  requirePk(t: TableInfo): void {
    if (t.primaryKey.length === 0) throw new NoPrimaryKeyError(`${t.schema}.${t.table}`);
  }

  initialState(): SnapshotJobState {
    return {
      id: 'initial',
      tables: this.snapshotTables().map((t) => ({ schema: t.schema, table: t.table })),
      tableIndex: 0,
      lastKey: null,
      chunkRows: this.o.chunkRows,
      done: false,
    };
  }

  /**
   * Starts an on-demand snapshot (queued behind running ones). Bad arguments throw a ConfigError, a bad name or a
   * known table without a primary key a SnapshotError, at once; a table the reader did not see published when it
   * started is looked up in the publication first (`accepted`).
   */
  request(tables: readonly string[], opts: { chunkRows?: number } = {}): SnapshotHandle {
    if (!this.opened) throw new SnapshotError('open the reader before requesting a snapshot');
    if (!this.o.onDemand) throw new SnapshotError('on-demand snapshots are off (snapshot.onDemand: false)');
    if (!Array.isArray(tables) || tables.length === 0 || tables.some((t) => typeof t !== 'string' || t === '')) {
      throw new ConfigError('tables', 'requestSnapshot takes a non-empty list of table names');
    }
    const chunkRows = opts?.chunkRows ?? this.o.chunkRows;
    if (!(Number.isInteger(chunkRows) && chunkRows > 0 && chunkRows <= MAX_CHUNK_ROWS)) {
      // An on-demand chunk is held in memory until its high watermark: the same bound as the reader's option.
      throw new ConfigError('chunkRows', `must be an integer from 1 to ${MAX_CHUNK_ROWS}`);
    }
    const names = tables.map((t) => this.tableName(t));
    const id = `s${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const state = (infos: TableInfo[]): SnapshotJobState => {
      for (const t of infos) this.requirePk(t);
      return {
        id,
        tables: infos.map((t) => ({ schema: t.schema, table: t.table })),
        tableIndex: 0,
        lastKey: null,
        chunkRows,
        done: false,
      };
    };
    const known = names.map((n) => this.find(n));
    if (known.every((t) => t !== undefined)) {
      return this.enqueue(state(known as TableInfo[]));
    }
    const accepted = this.refreshTables().then(() => state(names.map((n) => this.published(n))));
    const handle = accepted.then((s) => this.enqueue(s));
    const done = handle.then((h) => h.done);
    done.catch(() => {}); // as enqueue's: a caller that never awaits it must not crash the process
    return { id, accepted: accepted.then(() => {}), done };
  }

  /** The publication's tables again, for one added after the reader started. */
  private async refreshTables(): Promise<void> {
    let c: pg.Client | null = null;
    try {
      c = await this.connect();
      this.tables = await publishedTables(c, this.host.publication);
    } catch (err) {
      if (err instanceof WalstreamError) throw err;
      throw new SnapshotError(`cannot read the publication's tables: ${(err as Error).message}`);
    } finally {
      if (c !== null) void this.release(c);
    }
  }

  /** Continues after the export's session is gone: the rest as an on-demand snapshot. */
  enqueue(state: SnapshotJobState): SnapshotHandle {
    for (const t of state.tables.slice(state.tableIndex)) this.progress.pending(state.id, `${t.schema}.${t.table}`);
    const job: Job = { state, rows: 0 };
    const done = this.queue.then(() => runJob(this, job));
    this.queue = done.then(
      () => {},
      () => {},
    );
    const result = done.then(() => ({ id: state.id, rows: this.progress.rows(state.id) }));
    // A caller that never awaits `done` must not crash the process when the reader closes mid-snapshot.
    result.catch(() => {});
    return { id: state.id, accepted: Promise.resolve(), done: result };
  }

  /** A job failed: user snapshots reject their `done`; the initial one stops the stream (never a gap). */
  fail(err: Error, id: string): void {
    if (id === 'initial' && !this.closed && this.failure === null) this.failure = err;
  }

  async connect(): Promise<pg.Client> {
    const options = [this.host.client.options, SNAPSHOT_SESSION].filter(Boolean).join(' ');
    const c = new pg.Client({ ...this.host.client, options });
    c.on('error', () => {}); // surfaced by the query in flight
    await c.connect();
    this.clients.add(c);
    return c;
  }

  async release(c: pg.Client): Promise<void> {
    this.clients.delete(c);
    await c.end().catch(() => {});
  }

  /** Progress rows: a checkpoint becomes due once everything up to `position` is held by every sink. */
  addAck(position: Position, state: SnapshotJobState): void {
    if (this.lastAcked !== null && comparePositions(position, this.lastAcked) <= 0) {
      void this.save(state);
      return;
    }
    this.acks.push({ position, state });
  }

  /** Everything up to `position` is durable downstream: save the latest checkpoint of each snapshot. */
  async ack(position: Position): Promise<void> {
    let n = 0;
    const latest = new Map<string, SnapshotJobState>();
    for (const a of this.acks) {
      if (comparePositions(a.position, position) > 0) break;
      latest.set(a.state.id, a.state);
      n++;
    }
    if (this.lastAcked === null || comparePositions(position, this.lastAcked) > 0) this.lastAcked = position;
    if (n === 0) return;
    for (const s of latest.values()) await this.store.save(this.host.slot, s);
    this.acks.splice(0, n);
  }

  private async save(state: SnapshotJobState): Promise<void> {
    try {
      await this.store.save(this.host.slot, state);
    } catch (err) {
      this.host.log.warn('snapshot checkpoint not saved', { snapshot: state.id, error: (err as Error).message });
    }
  }

  /**
   * Every streamed item goes through here while `watching`: watermarks are taken out, changes to tables being
   * copied are recorded, and a chunk's surviving rows join its high watermark's transaction. Returns the item
   * itself, nothing (null), or what replaces it.
   */
  pass(item: ReaderItem): ReaderItem | ReaderItem[] | null {
    if (this.failure !== null) throw this.failure;
    const kind = (item as { kind?: string }).kind;
    if (kind === undefined) {
      const e = item as ChangeEvent;
      if (e.operation === 'MESSAGE') {
        if (e.message?.prefix === this.prefix) {
          this.onWatermark(e);
          return null;
        }
        return this.userMessages ? item : null;
      }
      if (
        this.checkpointTable !== null &&
        e.table === this.checkpointTable.table &&
        e.schema === this.checkpointTable.schema
      ) {
        return null;
      }
      if (this.windows.size > 0) this.windows.get(`${e.schema}\0${e.table}`)?.record(e);
      return item;
    }
    if (kind === 'commit' && this.emitAt !== null && (item as TransactionCommit).position.lsn === this.emitAt.lsn) {
      return this.emitChunk(item as TransactionCommit);
    }
    return item;
  }

  private onWatermark(e: ChangeEvent): void {
    const token = Buffer.from(e.message?.content ?? new Uint8Array()).toString('utf8');
    // The same watermark again: a reconnect re-sent its transaction before its commit was handed out.
    if (this.emitAt?.token === token) return;
    const chunk = this.pending.get(token);
    // A watermark of an earlier run (replayed after a restart) or of a closed snapshot: its rows are taken again.
    if (chunk === undefined) return;
    this.pending.delete(token);
    this.emitAt = { lsn: e.position.lsn, token, chunk };
  }

  private emitChunk(commit: TransactionCommit): ReaderItem[] {
    const { chunk } = this.emitAt as { chunk: PendingChunk };
    this.emitAt = null;
    const t = chunk.table;
    const window = this.windows.get(`${t.schema}\0${t.table}`);
    const keep =
      window?.survivors(chunk.chunk.keys, chunk.chunk.rows, chunk.snapshot) ??
      chunk.chunk.rows.map((row, index) => ({ index, row }));
    window?.clear();
    const lsn = commit.position.lsn;
    let index = commit.position.index;
    const out: ReaderItem[] = [];
    if (chunk.first) {
      const schema: SchemaChange = {
        kind: 'schema',
        position: { lsn, index: index + 1 },
        schema: t.schemaItem,
        previous: null,
      };
      out.push(schema);
    }
    for (const { index: i, row } of keep) {
      index++;
      // A row completed from the live one (see ChangeWindow.survivors) may have another key than the copy's.
      const key = row === chunk.chunk.rows[i] ? (chunk.chunk.keys[i] as Row) : rowDecoder(t, this.host.types).key(row);
      out.push(this.readEvent(t, lsn, index, commit.timestamp, commit.transactionId, key, row));
    }
    if (keep.length > 0) this.host.setLastIndex(lsn, index);
    const c: TransactionCommit = {
      ...commit,
      position: { lsn, index },
      eventCount: commit.eventCount + keep.length,
    };
    out.push(c);
    this.addAck(c.position, chunk.next);
    chunk.emitted(c.position, keep.length);
    return out;
  }

  private idLsn = -1n;
  private idPrefix = '';

  readEvent(
    t: SnapshotTable,
    lsn: bigint,
    index: number,
    timestamp: string,
    transactionId: string,
    key: Row,
    row: Row,
  ): ChangeEvent {
    const position = { lsn, index };
    if (lsn !== this.idLsn) {
      this.idLsn = lsn;
      this.idPrefix = `${formatLsn(lsn)}:`;
    }
    return {
      id: `${this.idPrefix}${index}`,
      position,
      operation: 'READ',
      timestamp,
      transactionId,
      database: this.database,
      schema: t.schema,
      table: t.table,
      key,
      before: null,
      after: row,
      unchanged: NONE_UNCHANGED,
    };
  }

  progressList(): TableSnapshotProgress[] {
    return this.progress.list();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.abort();
    this.pending.clear();
    await Promise.all([...this.clients].map((c) => this.release(c)));
    await this.store.close?.();
  }
}
