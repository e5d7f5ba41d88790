import type { Position, Sink } from '@walstream/core';
import {
  type ApplyCommonOptions,
  ApplyEngine,
  type ColumnFilter,
  resolveCommon,
  validateApplyOptions,
} from '@walstream/sink-postgres/internal';
import type mysql from 'mysql2/promise';
import { MySqlDialect } from './dialect.js';

/** Where one source table goes in MySQL. */
export interface MySqlTableMapping {
  /** Target table name. @default the source table name */
  table?: string;
  /** Target database. @default `databases[sourceSchema]`, else the connection's database */
  database?: string;
  /** Which source columns are written. @default all */
  columns?: ColumnFilter;
}

export interface MySqlSinkOptions extends ApplyCommonOptions {
  /** `mysql://user:password@host:3306/database`; the database holds the checkpoint table and unmapped tables. */
  connectionString: string;
  /** Extra mysql2 connection settings (ssl, ...). @default {} */
  connection?: mysql.ConnectionOptions;
  /** `schema.table` or `table` -> mapping, or `false` to skip the table. @default every table to the same name */
  tables?: Record<string, MySqlTableMapping | false>;
  /** Source schema -> target database. @default {} (the connection's database) */
  databases?: Record<string, string>;
}

/** A Sink that also tells the last source position it applied. */
export interface ApplySink extends Sink {
  /** The source position the checkpoint table holds for this sink, after open(). */
  readonly position: Position | null;
}

/**
 * Applies changes to MySQL 8 or MariaDB 10.6+: upsert by primary key, delete by key, exactly once through the
 * checkpoint table `walstream_checkpoints` written in the same transaction.
 */
export function createMySqlSink(options: MySqlSinkOptions): ApplySink {
  validateApplyOptions(options, 'mysql://');
  const common = resolveCommon(options, 'mysql');
  const dialect = new MySqlDialect({ connectionString: options.connectionString, connection: options.connection });
  const tables: Record<string, { namespace?: string; table?: string; columns?: ColumnFilter } | false> = {};
  for (const [k, m] of Object.entries(options.tables ?? {})) {
    tables[k] = m === false ? false : { namespace: m.database, table: m.table, columns: m.columns };
  }
  const engine = new ApplyEngine(dialect, common, { tables, namespaces: options.databases ?? {} });
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
