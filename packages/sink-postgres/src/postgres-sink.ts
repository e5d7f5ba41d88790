import type pg from 'pg';
import type { ApplyCommonOptions, ColumnFilter } from './apply/options.js';
import { type ApplySink, createApplySink } from './apply/sink.js';
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

/**
 * Applies changes to a Postgres database: upsert by primary key, delete by key, exactly once through the
 * checkpoint table `walstream_checkpoints` written in the same transaction.
 */
export function createPostgresSink(options: PostgresSinkOptions): ApplySink {
  return createApplySink(options, {
    scheme: 'postgres://',
    name: 'postgres',
    dialect: () => new PostgresDialect({ connectionString: options.connectionString, connection: options.connection }),
    mapping: (m) => ({ namespace: m.schema, table: m.table, columns: m.columns }),
    mappingNames: ['table', 'schema'],
    namespaces: options.schemas,
  });
}
