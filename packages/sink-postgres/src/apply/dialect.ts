/**
 * What the apply engine needs from a target database. One Dialect owns one connection; the engine calls it
 * strictly one statement at a time.
 */
import type { ColumnSchema, Value } from '@walstream/core';

/** A target column as the target describes it (lower-case type names). */
export interface TargetColumn {
  readonly name: string;
  /** `int`, `bigint`, `decimal`, `datetime`, `json`, `longblob`, `timestamp with time zone`, `ARRAY`, ... */
  readonly dataType: string;
  readonly precision: number | null;
  readonly scale: number | null;
}

export interface TargetTable {
  readonly namespace: string;
  readonly name: string;
  readonly columns: ReadonlyMap<string, TargetColumn>;
  /** Primary key column names in key order; empty when the table has none. */
  readonly key: readonly string[];
  /**
   * The table has unique indexes besides the primary key: changes are then applied one by one in source order
   * (folding per key could reorder them into a transient duplicate the source never had).
   */
  readonly ordered: boolean;
}

/** Where a value is going, for error messages (never the value itself). */
export interface ValueSite {
  readonly table: string;
  readonly column: string;
}

export interface ConvertOptions {
  readonly unrepresentable: 'error' | 'null';
}

export interface Dialect {
  /** `postgres` or `mysql`, for messages. */
  readonly kind: string;
  readonly maxIdentifierLength: number;
  /** DDL runs inside a transaction (Postgres) rather than committing it implicitly (MySQL). */
  readonly transactionalDdl: boolean;
  /** Connects if not connected (again after a failure); sets the session up. */
  connect(): Promise<void>;
  /** Drops the connection (after a failure; the next connect() makes a new one). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** The namespace (schema or database) used when the mapping names none. */
  defaultNamespace(sourceSchema: string): string;
  /** Throws ApplyError(IDENTIFIER) for a name the target cannot hold. */
  checkIdentifier(name: string, what: string): void;
  quote(name: string): string;

  begin(): Promise<void>;
  rollback(): Promise<void>;
  /**
   * For a dialect that pipelines the statements of a transaction (sends them without waiting for answers):
   * waits for them all and throws the first failure. commitWithCheckpoint settles by itself.
   */
  settle?(): Promise<void>;

  ensureCheckpointTable(table: string): Promise<void>;
  readCheckpoint(table: string, pipeline: string, sink: string): Promise<string | null>;
  /** Writes the checkpoint row and commits, in one round trip where the driver allows. */
  commitWithCheckpoint(table: string, pipeline: string, sink: string, position: string): Promise<void>;

  describeTable(namespace: string, name: string): Promise<TargetTable | null>;
  /** Target type for a source column (createTables, ADD COLUMN, widening). */
  columnType(col: ColumnSchema, inKey: boolean): string;
  createTable(namespace: string, name: string, columns: readonly ColumnSchema[], key: readonly string[]): Promise<void>;
  addColumn(namespace: string, name: string, col: ColumnSchema): Promise<void>;
  dropColumn(namespace: string, name: string, column: string): Promise<void>;
  /** `key`: the source's key columns in their new shape (a textual key column's room depends on the others). */
  alterColumnType(namespace: string, name: string, col: ColumnSchema, key: readonly ColumnSchema[]): Promise<void>;

  /** INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE `update` columns; rows hold converted values. */
  upsert(
    t: TargetTable,
    columns: readonly string[],
    update: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void>;
  /**
   * A plain multi-row INSERT (no conflict clause) for rows the target should not hold yet. Optional: without
   * it every write is an upsert. A row that exists after all must fail the statement with a duplicate-key error
   * (isDuplicateKey), and nothing of the transaction may commit afterwards.
   */
  insert?(t: TargetTable, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /** The error is a unique-key violation (what a plain INSERT of an existing key fails with). */
  isDuplicateKey(err: unknown): boolean;
  deleteKeys(t: TargetTable, keys: readonly unknown[][]): Promise<void>;
  deleteAll(t: TargetTable): Promise<void>;
  /** UPDATE ... SET columns WHERE key = oldKey; resolves to the number of rows it matched. */
  updateByKey(
    t: TargetTable,
    oldKey: readonly unknown[],
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<number>;

  /** A walstream value as the driver should send it into this column. */
  convert(col: TargetColumn, value: Value, site: ValueSite, opts: ConvertOptions): unknown;
  /** Whether a driver error is worth retrying (lost connection, deadlock, lock timeout). */
  isRetriable(err: unknown): boolean;
}

/** Splits n rows into power-of-two chunks of at most `max` (so only log2(max) statement texts exist per shape). */
export function chunkSizes(n: number, max: number): number[] {
  const out: number[] = [];
  let left = n;
  while (left > 0) {
    let size = max;
    while (size > left) size >>= 1;
    out.push(size);
    left -= size;
  }
  return out;
}
