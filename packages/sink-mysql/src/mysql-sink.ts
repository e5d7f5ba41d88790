import {
  type ApplyCommonOptions,
  type ApplySink,
  type ColumnFilter,
  createApplySink,
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

/**
 * Applies changes to MySQL 8 or MariaDB 10.6+: upsert by primary key, delete by key, exactly once through the
 * checkpoint table `walstream_checkpoints` written in the same transaction.
 */
export function createMySqlSink(options: MySqlSinkOptions): ApplySink {
  return createApplySink(options, {
    scheme: 'mysql://',
    name: 'mysql',
    dialect: () => new MySqlDialect({ connectionString: options.connectionString, connection: options.connection }),
    mapping: (m) => ({ namespace: m.database, table: m.table, columns: m.columns }),
    mappingNames: ['table', 'database'],
    namespaces: options.databases,
  });
}
