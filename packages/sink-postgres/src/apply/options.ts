/** Options both apply sinks share (the Postgres and the MySQL sink add their connection and namespace names). */

/** How one source table lands in the target. `false` skips the table. */
export interface ColumnFilter {
  /** Only these source columns are written (key columns must be among them). */
  include?: readonly string[];
  /** These source columns are never written (key columns cannot be excluded). */
  exclude?: readonly string[];
}

export interface ApplyCommonOptions {
  /** Sink name, also the `sink` column of the checkpoint row. @default 'postgres' or 'mysql' */
  name?: string;
  /** Create missing target tables from the source schema (see the type table in the README). @default false */
  createTables?: boolean;
  /**
   * Source ADD COLUMN, DROP COLUMN and type widening: `'apply'` alters the target; `'error'` stops with an
   * ApplyError (reason SCHEMA). Narrowing or incompatible type changes always stop. @default 'apply'
   */
  onSchemaChange?: 'apply' | 'error';
  /**
   * How many complete source transactions of a batch go into one target transaction. Source transactions are
   * never split; grouping only means fewer commits. @default 1
   */
  transactionsPerCommit?: number;
  /** Rows per multi-row statement (rounded down to a power of two, so few statement texts are prepared). @default 512 */
  maxRowsPerStatement?: number;
  /**
   * Memory for rows of source transactions whose commit has not arrived yet. Past it, the transaction is applied
   * into a target transaction that stays open until its commit arrives (see README). @default 67108864 (64 MiB)
   */
  maxPendingBytes?: number;
  /** Name of the checkpoint table in the target. @default 'walstream_checkpoints' */
  checkpointTable?: string;
  /** float NaN/Infinity, numeric NaN/Infinity and infinity dates the target cannot hold: fail or write NULL. @default 'error' */
  unrepresentable?: 'error' | 'null';
}

export interface ResolvedCommonOptions {
  name: string;
  createTables: boolean;
  onSchemaChange: 'apply' | 'error';
  transactionsPerCommit: number;
  maxRowsPerStatement: number;
  maxPendingBytes: number;
  checkpointTable: string;
  unrepresentable: 'error' | 'null';
}

export function resolveCommon(o: ApplyCommonOptions, defaultName: string): ResolvedCommonOptions {
  const rows = Math.max(1, Math.floor(o.maxRowsPerStatement ?? 512));
  return {
    name: o.name ?? defaultName,
    createTables: o.createTables ?? false,
    onSchemaChange: o.onSchemaChange ?? 'apply',
    transactionsPerCommit: Math.max(1, Math.floor(o.transactionsPerCommit ?? 1)),
    maxRowsPerStatement: 2 ** Math.floor(Math.log2(rows)),
    maxPendingBytes: o.maxPendingBytes ?? 64 << 20,
    checkpointTable: o.checkpointTable ?? 'walstream_checkpoints',
    unrepresentable: o.unrepresentable ?? 'error',
  };
}
