import { ConfigError, type Position, type Sink } from '@walstream/core';
import type pg from 'pg';
import { ApplyEngine } from './apply/engine.js';
import { type ApplyCommonOptions, type ColumnFilter, resolveCommon } from './apply/options.js';
import type { NormalizedMapping } from './apply/tables.js';
import { PostgresDialect } from './pg-dialect.js';

/** Where one source table goes in the target Postgres. */
export interface PostgresTableMapping {
  /** Target table name. @default the source table name */
  table?: string;
  /** Target schema. @default `schemas[sourceSchema]`, else the source schema */
  schema?: string;
  /** Which source columns are written. @default all */
  columns?: ColumnFilter;
}

export interface PostgresSinkOptions extends ApplyCommonOptions {
  /** `postgres://user@host:5432/database` of the target. */
  connectionString: string;
  /** Extra node-postgres client settings (ssl, ...). @default {} */
  connection?: pg.ClientConfig;
  /** `schema.table` or `table` -> mapping, or `false` to skip the table. @default every table to the same schema and name */
  tables?: Record<string, PostgresTableMapping | false>;
  /** Source schema -> target schema. @default {} (same schema) */
  schemas?: Record<string, string>;
}

/** A Sink that also tells the last source position it applied. */
export interface ApplySink extends Sink {
  /** The source position the checkpoint table holds for this sink, after open(). */
  readonly position: Position | null;
}

export function validateApplyOptions(o: ApplyCommonOptions & { connectionString?: unknown }, scheme: string): void {
  if (typeof o?.connectionString !== 'string' || o.connectionString === '') {
    throw new ConfigError('connectionString', `a ${scheme} connection string is required`);
  }
  for (const f of ['transactionsPerCommit', 'maxRowsPerStatement', 'maxPendingBytes'] as const) {
    const v = o[f];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(f, 'must be a positive integer');
  }
  if (o.onSchemaChange !== undefined && o.onSchemaChange !== 'apply' && o.onSchemaChange !== 'error') {
    throw new ConfigError('onSchemaChange', "must be 'apply' or 'error'");
  }
  if (o.unrepresentable !== undefined && o.unrepresentable !== 'error' && o.unrepresentable !== 'null') {
    throw new ConfigError('unrepresentable', "must be 'error' or 'null'");
  }
}

/**
 * Applies changes to a Postgres database: upsert by primary key, delete by key, exactly once through the
 * checkpoint table `walstream_checkpoints` written in the same transaction.
 */
export function createPostgresSink(options: PostgresSinkOptions): ApplySink {
  validateApplyOptions(options, 'postgres://');
  const common = resolveCommon(options, 'postgres');
  const dialect = new PostgresDialect({ connectionString: options.connectionString, connection: options.connection });
  const tables: Record<string, NormalizedMapping | false> = {};
  for (const [k, m] of Object.entries(options.tables ?? {})) {
    tables[k] = m === false ? false : { namespace: m.schema, table: m.table, columns: m.columns };
  }
  const engine = new ApplyEngine(dialect, common, { tables, namespaces: options.schemas ?? {} });
  return {
    name: common.name,
    get position() {
      return engine.position;
    },
    open: (ctx) => engine.open(ctx),
    write: (batch, opts) => engine.write(batch, opts?.signal),
    close: () => engine.close(),
  };
}
