/**
 * Turns pgoutput messages into ReaderItems. Plain transactions flow straight through; transactions the server
 * streams before commit (protocol 2+) and prepared transactions (two-phase) are buffered (see StreamBuffer) and
 * replayed lazily when they commit, so only committed changes reach the pipeline and memory stays bounded.
 */
import {
  type ChangeEvent,
  DecodeError,
  formatLsn,
  type Operation,
  type ReaderItem,
  type Row,
  type SchemaChange,
  type TableSchema,
  type TransactionCommit,
} from '@walstream/core';
import { setField } from '@walstream/core/internal';
import { decodePgoutput } from './protocol/decode.js';
import {
  NO_TUPLE,
  OLD_KEY,
  type PgoutputMessage,
  TRUNCATE_CASCADE,
  TRUNCATE_RESTART_IDENTITY,
} from './protocol/messages.js';
import { decodeTuple, keyOf } from './protocol/tuple.js';
import { buildRelation, type Relation, sameShape } from './relation.js';
import { StreamBuffer } from './stream-buffer.js';
import type { TypeRegistry } from './types/registry.js';

const PG_EPOCH_MS = 946_684_800_000;

export function pgTimeToIso(us: bigint): string {
  return new Date(pgTimeToMs(us)).toISOString();
}

function pgTimeToMs(us: bigint): number {
  return PG_EPOCH_MS + Number(us / 1000n);
}

export interface ChangeDecoderOptions {
  database: string;
  /** Deliver logical decoding messages as MESSAGE events. */
  messages: boolean;
  /**
   * Deliver non-transactional messages (each a unit of its own, with a commit item). False when messages are on
   * only for walstream's own transactional ones (snapshot watermarks). @default messages
   */
  standaloneMessages?: boolean;
  /** Prefix of walstream's own heartbeat messages, never delivered as events. */
  heartbeatPrefix: string;
  /** Memory for buffered streamed/prepared transactions before they spill to disk. */
  streamMemoryBytes: number;
  spillDir: string | undefined;
  /** Primary-key columns by `schema.table`, preferred over all-columns keys of REPLICA IDENTITY FULL. */
  primaryKeys: ReadonlyMap<string, readonly string[]>;
}

/** What the reader needs to map an acknowledged position back to a WAL position it may confirm. */
export interface TransactionEnd {
  commitLsn: bigint;
  lastIndex: number;
  endLsn: bigint;
}

interface OpenTxn {
  lsn: bigint;
  lsnText: string;
  xid: string;
  timestamp: string;
  index: number;
  /** Replication origin name (Origin message after Begin), when the transaction has one. */
  origin: string | undefined;
}

interface Prepared {
  buffer: StreamBuffer;
  prepareLsn: bigint;
  gid: string;
  /** Server time of the PREPARE, in ms since 1970. */
  preparedAtMs: number;
}

/** A prepared transaction received and not yet committed or rolled back. */
export interface PendingPrepared {
  gid: string;
  prepareLsn: bigint;
  preparedAtMs: number;
}

export class ChangeDecoder {
  private readonly relations = new Map<number, Relation>();
  private readonly schemas = new Map<number, TableSchema>();
  private txn: OpenTxn | null = null;
  private readonly streams = new Map<number, StreamBuffer>();
  private currentStream: StreamBuffer | null = null;
  /** A two-phase transaction between Begin Prepare and Prepare. */
  private preparing: Prepared | null = null;
  private readonly prepared = new Map<string, Prepared>();
  private readonly budget: { limitBytes: number; dir: string | undefined; used: { bytes: number } };
  /** Transactions the server streamed before commit, and how many of them spilled to disk. */
  streamedTransactions = 0;
  spilledTransactions = 0;
  /** Called once per transaction end, before its commit item is handed out. */
  onTransactionEnd: (end: TransactionEnd) => void = () => {};
  /**
   * A transaction without events (an empty commit, a heartbeat) ended at `endLsn`. It yields no item: the
   * reader folds its end into what it may confirm, so millions of them cost no memory.
   */
  onEmptyTransaction: (endLsn: bigint) => void = () => {};

  constructor(
    private readonly types: TypeRegistry,
    private readonly o: ChangeDecoderOptions,
  ) {
    this.budget = { limitBytes: o.streamMemoryBytes, dir: o.spillDir, used: { bytes: 0 } };
  }

  /** No transaction open or buffered: a keepalive's WAL end may be confirmed. */
  get idle(): boolean {
    return this.txn === null && this.streams.size === 0 && this.prepared.size === 0 && this.preparing === null;
  }

  /** Prepared transactions not yet committed hold confirmation back before their PREPARE, so they are re-sent. */
  get holdBackLsn(): bigint | null {
    let min: bigint | null = this.preparing?.prepareLsn ?? null;
    for (const p of this.prepared.values()) if (min === null || p.prepareLsn < min) min = p.prepareLsn;
    return min;
  }

  /** Prepared transactions waiting for COMMIT/ROLLBACK PREPARED (each holds confirmation back). */
  get pendingPrepared(): PendingPrepared[] {
    return [...this.prepared.values()].map((p) => ({
      gid: p.gid,
      prepareLsn: p.prepareLsn,
      preparedAtMs: p.preparedAtMs,
    }));
  }

  /** Between Stream Start and Stream Stop (messages then carry an xid). */
  get inStream(): boolean {
    return this.currentStream !== null;
  }

  get bufferedBytes(): number {
    return this.budget.used.bytes;
  }

  /** Forgets transactions in progress (before a reconnect re-sends them); keeps known schemas. */
  reset(): void {
    this.txn = null;
    this.currentStream = null;
    for (const s of this.streams.values()) s.discard();
    this.streams.clear();
    this.preparing?.buffer.discard();
    this.preparing = null;
    for (const p of this.prepared.values()) p.buffer.discard();
    this.prepared.clear();
    this.relations.clear();
  }

  /**
   * Handles one pgoutput message; items go to `out`. A commit of a buffered transaction returns an iterable
   * to drain (lazily, so a spilled transaction is read back only as fast as the consumer pulls).
   */
  handle(data: Buffer, start: number, end: number, out: ReaderItem[]): Iterable<ReaderItem> | null {
    const inStream = this.currentStream !== null;
    const m = decodePgoutput(data, start, end, inStream);
    if (inStream) {
      if (m.tag === 'streamStop') this.currentStream = null;
      else (this.currentStream as StreamBuffer).add(subxidOf(m), data, start, end);
      return null;
    }
    if (this.preparing !== null && (isChange(m.tag) || m.tag === 'origin')) {
      // The server counts Relation and Type messages as sent even inside a prepared transaction, so a plain
      // transaction before COMMIT PREPARED relies on them: apply them now. The schema-change item is emitted
      // before the first row in that shape, whichever transaction delivers it first.
      if (m.tag === 'relation') this.relations.set(m.relationId, buildRelation(m, this.types));
      else if (m.tag === 'type') this.types.noteName(m.oid, m.namespace, m.name);
      this.preparing.buffer.add(0, data, start, end);
      return null;
    }
    switch (m.tag) {
      case 'begin':
        this.open(m.finalLsn, m.xid, m.commitTime);
        return null;
      case 'commit':
        this.close(m.endLsn, out);
        return null;
      case 'streamStart': {
        let s = this.streams.get(m.xid);
        if (s === undefined) {
          s = new StreamBuffer(m.xid, this.budget, true);
          this.streams.set(m.xid, s);
        }
        this.currentStream = s;
        return null;
      }
      case 'streamCommit': {
        const s = this.takeStream(m.xid);
        return this.replay(s, m.commitLsn, m.xid, m.commitTime, m.endLsn);
      }
      case 'streamAbort': {
        const s = this.streams.get(m.xid);
        if (s === undefined) return null; // nothing of it was streamed to us
        if (m.subxid === m.xid) {
          s.discard();
          this.streams.delete(m.xid);
        } else s.abortSubtransaction(m.subxid);
        return null;
      }
      case 'beginPrepare':
        this.preparing = {
          buffer: new StreamBuffer(m.xid, this.budget, false),
          prepareLsn: m.prepareLsn,
          gid: m.gid,
          preparedAtMs: pgTimeToMs(m.prepareTime),
        };
        return null;
      case 'prepare': {
        const p = this.preparing;
        if (p === null) throw new DecodeError('pgoutput: PREPARE without BEGIN PREPARE');
        this.preparing = null;
        this.prepared.set(m.gid, p);
        return null;
      }
      case 'streamPrepare':
        this.prepared.set(m.gid, {
          buffer: this.takeStream(m.xid),
          prepareLsn: m.prepareLsn,
          gid: m.gid,
          preparedAtMs: pgTimeToMs(m.prepareTime),
        });
        return null;
      case 'commitPrepared': {
        const p = this.prepared.get(m.gid);
        if (p === undefined) {
          throw new DecodeError(
            `pgoutput: COMMIT PREPARED for a transaction never prepared on this stream (xid ${m.xid})`,
          );
        }
        this.prepared.delete(m.gid);
        return this.replay(p.buffer, m.commitLsn, m.xid, m.commitTime, m.endLsn);
      }
      case 'rollbackPrepared':
        this.prepared.get(m.gid)?.buffer.discard();
        this.prepared.delete(m.gid);
        return null;
      case 'origin':
        if (this.txn !== null) this.txn.origin = m.name;
        return null;
      case 'streamStop':
        return null;
      default:
        this.change(m, data, out);
        return null;
    }
  }

  private takeStream(xid: number): StreamBuffer {
    const s = this.streams.get(xid);
    this.streams.delete(xid);
    // A streamed transaction may commit with nothing streamed (all its changes sent before we connected).
    return s ?? new StreamBuffer(xid, this.budget, true);
  }

  private open(lsn: bigint, xid: number, commitTime: bigint): void {
    this.txn = {
      lsn,
      lsnText: formatLsn(lsn),
      xid: String(xid),
      timestamp: pgTimeToIso(commitTime),
      index: 0,
      origin: undefined,
    };
  }

  private close(endLsn: bigint, out: ReaderItem[]): void {
    const t = this.txn;
    if (t === null) throw new DecodeError('pgoutput: COMMIT outside a transaction');
    this.txn = null;
    if (t.index === 0) {
      this.onEmptyTransaction(endLsn);
      return;
    }
    this.onTransactionEnd({ commitLsn: t.lsn, lastIndex: t.index - 1, endLsn });
    const commit: TransactionCommit = {
      kind: 'commit',
      position: { lsn: t.lsn, index: t.index - 1 },
      transactionId: t.xid,
      timestamp: t.timestamp,
      eventCount: t.index,
    };
    out.push(commit);
  }

  private *replay(buffer: StreamBuffer, lsn: bigint, xid: number, time: bigint, endLsn: bigint): Generator<ReaderItem> {
    if (buffer.streamed) this.streamedTransactions++;
    if (buffer.spilled) this.spilledTransactions++;
    this.open(lsn, xid, time);
    const out: ReaderItem[] = [];
    try {
      for (const raw of buffer.replay()) {
        const m = decodePgoutput(raw, 0, raw.length, buffer.streamed);
        this.change(m, raw, out);
        for (const item of out) yield item;
        out.length = 0;
      }
    } finally {
      buffer.discard();
    }
    this.close(endLsn, out);
    yield* out;
  }

  private change(m: PgoutputMessage, data: Buffer, out: ReaderItem[]): void {
    const t = this.txn;
    switch (m.tag) {
      case 'relation': {
        const rel = buildRelation(m, this.types);
        this.relations.set(m.relationId, rel);
        this.noteSchema(rel, out);
        return;
      }
      case 'type':
        this.types.noteName(m.oid, m.namespace, m.name);
        return;
      case 'origin': // inside a streamed or prepared transaction, replayed at commit
        if (t !== null) t.origin = m.name;
        return;
      case 'message': {
        if (m.prefix === this.o.heartbeatPrefix || !this.o.messages) return;
        const message = { prefix: m.prefix, content: m.content, transactional: m.transactional };
        if (m.transactional && t !== null) {
          out.push(this.event(t, t.lsn, t.index++, 'MESSAGE', '', '', null, null, null, [], { message }));
          return;
        }
        // A non-transactional message is a unit of its own: its LSN (the end of its WAL record) is its end
        // position, and nothing past it may be confirmed before the sinks hold it.
        if (this.o.standaloneMessages === false) return;
        const e = this.event(null, m.lsn, 0, 'MESSAGE', '', '', null, null, null, [], { message });
        out.push(e);
        this.onTransactionEnd({ commitLsn: m.lsn, lastIndex: 0, endLsn: m.lsn });
        const commit: TransactionCommit = {
          kind: 'commit',
          position: { lsn: m.lsn, index: 0 },
          transactionId: e.transactionId,
          timestamp: e.timestamp,
          eventCount: 1,
        };
        out.push(commit);
        return;
      }
      case 'truncate': {
        if (t === null) throw new DecodeError('pgoutput: TRUNCATE outside a transaction');
        const truncate = {
          cascade: (m.options & TRUNCATE_CASCADE) !== 0,
          restartIdentity: (m.options & TRUNCATE_RESTART_IDENTITY) !== 0,
        };
        for (const id of m.relationIds) {
          const rel = this.relation(id);
          this.noteSchema(rel, out);
          out.push(
            this.event(t, t.lsn, t.index++, 'TRUNCATE', rel.schema, rel.table, null, null, null, [], { truncate }),
          );
        }
        return;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const rel = this.relation(m.relationId);
        if (this.schemas.get(m.relationId) !== rel.tableSchema) this.noteSchema(rel, out);
        out.push(this.row(m, data));
        return;
      }
      default:
        throw new DecodeError(`pgoutput: unexpected ${m.tag} message inside a transaction`);
    }
  }

  /** Records the relation's shape; a new or changed shape yields a schema item before its first row. */
  private noteSchema(rel: Relation, out: ReaderItem[]): void {
    const prev = this.schemas.get(rel.id) ?? null;
    if (prev === rel.tableSchema) return;
    this.schemas.set(rel.id, rel.tableSchema);
    if (prev !== null && sameShape(prev, rel.tableSchema)) return;
    const t = this.txn;
    const change: SchemaChange = {
      kind: 'schema',
      position: { lsn: t?.lsn ?? 0n, index: t?.index ?? 0 },
      schema: rel.tableSchema,
      previous: prev,
    };
    out.push(change);
  }

  private row(m: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>, data: Buffer): ChangeEvent {
    const t = this.txn;
    if (t === null) throw new DecodeError(`pgoutput: ${m.tag} outside a transaction`);
    const rel = this.relation(m.relationId);
    if (m.tag === 'insert') {
      const n = decodeTuple(data, m.newTuple, rel, false);
      return this.event(
        t,
        t.lsn,
        t.index++,
        'INSERT',
        rel.schema,
        rel.table,
        this.keyOf(n.row, rel),
        null,
        n.row,
        n.unchanged,
      );
    }
    if (m.tag === 'update') {
      const n = decodeTuple(data, m.newTuple, rel, false);
      const key = this.keyOf(n.row, rel);
      let before: Row | null = key;
      if (m.oldTuple !== NO_TUPLE) before = decodeTuple(data, m.oldTuple, rel, m.oldKind === OLD_KEY).row;
      return this.event(t, t.lsn, t.index++, 'UPDATE', rel.schema, rel.table, key, before, n.row, n.unchanged);
    }
    const o = decodeTuple(data, m.oldTuple, rel, m.oldKind === OLD_KEY);
    return this.event(t, t.lsn, t.index++, 'DELETE', rel.schema, rel.table, this.keyOf(o.row, rel), o.row, null, []);
  }

  private keyOf(row: Row, rel: Relation): Row | null {
    if (rel.tableSchema.replicaIdentity !== 'full') return keyOf(row, rel);
    const pk = this.o.primaryKeys.get(`${rel.schema}.${rel.table}`);
    if (pk === undefined) return keyOf(row, rel);
    const key: Row = {};
    for (const c of pk) setField(key, c, row[c] ?? null);
    return key;
  }

  private relation(id: number): Relation {
    const rel = this.relations.get(id);
    if (rel === undefined) throw new DecodeError(`pgoutput: change for relation ${id} before its Relation message`);
    return rel;
  }

  private event(
    t: OpenTxn | null,
    lsn: bigint,
    index: number,
    operation: Operation,
    schema: string,
    table: string,
    key: Row | null,
    before: Row | null,
    after: Row | null,
    unchanged: string[],
    extra?: Pick<ChangeEvent, 'truncate' | 'message'>,
  ): ChangeEvent {
    const lsnText = t !== null && t.lsn === lsn ? t.lsnText : formatLsn(lsn);
    const e: ChangeEvent = {
      id: `${lsnText}:${index}`,
      position: { lsn, index },
      operation,
      timestamp: t?.timestamp ?? new Date().toISOString(),
      transactionId: t?.xid ?? '0',
      database: this.o.database,
      schema,
      table,
      key,
      before,
      after,
      unchanged,
    };
    if (t?.origin !== undefined) return { ...e, ...extra, origin: t.origin };
    return extra === undefined ? e : { ...e, ...extra };
  }
}

function isChange(tag: PgoutputMessage['tag']): boolean {
  return (
    tag === 'insert' ||
    tag === 'update' ||
    tag === 'delete' ||
    tag === 'truncate' ||
    tag === 'relation' ||
    tag === 'type' ||
    tag === 'message'
  );
}

function subxidOf(m: PgoutputMessage): number {
  return 'xid' in m ? m.xid : 0;
}
