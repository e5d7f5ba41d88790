/**
 * The normalized change model. A ChangeEvent has exactly the fields of the canonical JSON envelope
 * (see codec-json.ts); values keep full precision in memory: int8 as bigint, numeric and timestamps as
 * strings, bytea as Uint8Array, json/jsonb as RawJson text (so big integers inside survive).
 */
import type { Lsn } from './lsn.js';
import type { Position } from './position.js';

export const Operation = {
  /** A row copied by a snapshot (initial or on-demand), not a change. */
  Read: 'READ',
  Insert: 'INSERT',
  Update: 'UPDATE',
  Delete: 'DELETE',
  Truncate: 'TRUNCATE',
  Message: 'MESSAGE',
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

/** JSON text kept verbatim, so `{"n": 12345678901234567890}` keeps every digit through every codec. */
export class RawJson {
  constructor(readonly text: string) {}
  /** Parses with JavaScript numbers: convenient, lossy for integers past 2^53. */
  parse(): unknown {
    return JSON.parse(this.text);
  }
  toString(): string {
    return this.text;
  }
}

/** A column value. Arrays nest; `null` is SQL NULL. */
export type Value = null | boolean | number | bigint | string | Uint8Array | RawJson | readonly Value[];

export type Row = Record<string, Value>;

export interface ChangeEvent {
  /** `X/Y:index`, stable across restarts; the idempotency key every sink uses. */
  readonly id: string;
  readonly position: Position;
  readonly operation: Operation;
  /** Commit time of the source transaction, ISO 8601 with offset. */
  readonly timestamp: string;
  readonly transactionId: string;
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  /** Replica-identity columns; null for TRUNCATE and MESSAGE. */
  readonly key: Row | null;
  /** Old row: full with REPLICA IDENTITY FULL, the key columns with DEFAULT, null for INSERT. */
  readonly before: Row | null;
  /** New row; null for DELETE, TRUNCATE and MESSAGE. Unchanged TOAST columns are absent here. */
  readonly after: Row | null;
  /** Columns whose value did not change and was not sent (unchanged TOAST). Never reported as null. */
  readonly unchanged: readonly string[];
  /** TRUNCATE only: the options of the statement. */
  readonly truncate?: { readonly cascade: boolean; readonly restartIdentity: boolean };
  /** MESSAGE only: a logical decoding message (pg_logical_emit_message). */
  readonly message?: { readonly prefix: string; readonly content: Uint8Array; readonly transactional: boolean };
  /** The replication origin the source transaction came from (e.g. another node's apply worker); absent for local changes. */
  readonly origin?: string;
}

export interface ColumnSchema {
  readonly name: string;
  /** Postgres type name as `format_type` prints it when known, e.g. `numeric`, `text[]`, `public.mood`. */
  readonly type: string;
  readonly typeOid: number;
  /** pg_attribute.atttypmod, -1 when none. */
  readonly typeModifier: number;
  /** Part of the replica identity (the key). */
  readonly key: boolean;
}

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface TableSchema {
  readonly schema: string;
  readonly table: string;
  /** Source relation id (pg_class oid); changes when the table is dropped and recreated. */
  readonly relationId: number;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly ColumnSchema[];
}

/** Marks the end of a source transaction: every event at or below `position` has been yielded. */
export interface TransactionCommit {
  readonly kind: 'commit';
  /** Commit LSN and the index of the transaction's last event (-1 when it had none). */
  readonly position: Position;
  readonly transactionId: string;
  readonly timestamp: string;
  readonly eventCount: number;
}

/** Liveness with no data, so consumers can see progress and lag while the source is idle. */
export interface Heartbeat {
  readonly kind: 'heartbeat';
  /** The source's WAL end at the time, when known. */
  readonly walEnd?: Lsn;
  readonly timestamp: string;
}

/** A table's shape changed (or was first seen); yielded before the first event in the new shape. */
export interface SchemaChange {
  readonly kind: 'schema';
  /** Position of the first event in the new shape. */
  readonly position: Position;
  readonly schema: TableSchema;
  readonly previous: TableSchema | null;
}

/** Progress of one table in a snapshot (initial or on-demand). */
export interface TableSnapshotProgress {
  /** Id of the snapshot (`initial` for the initial snapshot). */
  readonly snapshotId: string;
  /** `schema.table`. */
  readonly table: string;
  readonly state: 'pending' | 'copying' | 'done';
  /** Rows handed to the pipeline so far. */
  readonly rowsDone: number;
  /**
   * Estimate when the table was started: pg_class.reltuples, or for a table never vacuumed or analyzed the
   * planner's estimate from its size on disk (0 when empty); null when there is none.
   */
  readonly rowsEstimated: number | null;
  /** Rows per second since the table started. */
  readonly rowsPerSecond: number;
  /** Estimated milliseconds left (null when unknown: no estimate, or more rows copied than estimated). */
  readonly etaMs: number | null;
}

/** What a LogReader yields. ChangeEvents have no `kind`; every other item does. */
export type ReaderItem = ChangeEvent | TransactionCommit | Heartbeat | SchemaChange;

export function isChangeEvent(item: ReaderItem): item is ChangeEvent {
  return (item as { kind?: string }).kind === undefined;
}

/** What a Sink receives: events in position order, the transaction ends and schema changes among them. */
export interface Batch {
  /** Increases by one for every batch a pipeline cuts. */
  readonly seq: number;
  readonly events: readonly ChangeEvent[];
  /** Transactions that end in this batch, in order. A transaction's events may sit in earlier batches. */
  readonly commits: readonly TransactionCommit[];
  readonly schemaChanges: readonly SchemaChange[];
  /** Estimated in-memory size of the events (see estimateEventBytes). */
  readonly bytes: number;
}
