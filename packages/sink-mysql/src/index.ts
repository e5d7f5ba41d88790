/**
 * @walstream/sink-mysql: applies Postgres changes to MySQL 8 or MariaDB, exactly once, with a documented type
 * mapping; `verifyTables` compares source and target by key.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createMySqlSink } from '@walstream/sink-mysql';
 *
 * const pipeline = createPipeline({
 *   name: 'shop-sync',
 *   reader: createPostgresReader({ connectionString, slot: 'shop', publication: 'shop', tables: ['orders'] }),
 *   sinks: [createMySqlSink({ connectionString: 'mysql://root@127.0.0.1:3306/test', createTables: true })],
 * });
 * await pipeline.start();
 * ```
 */
import type { ApplyCommonOptions, ApplySink, ColumnFilter, TableName } from '@walstream/sink-postgres/internal';
import { ApplyError, ApplyErrorReason } from '@walstream/sink-postgres/internal';
import { MYSQL_MAX_IDENTIFIER } from './dialect.js';
import type { MySqlSinkOptions, MySqlTableMapping } from './mysql-sink.js';
import { createMySqlSink } from './mysql-sink.js';
import { mysqlColumnType } from './types.js';
import type { VerifyOptions, VerifyResult, VerifyTableResult, VerifyTableSpec } from './verify.js';
import { verifyTables } from './verify.js';

export type {
  ApplyCommonOptions,
  ApplySink,
  ColumnFilter,
  MySqlSinkOptions,
  MySqlTableMapping,
  TableName,
  VerifyOptions,
  VerifyResult,
  VerifyTableResult,
  VerifyTableSpec,
};
export { ApplyError, ApplyErrorReason, createMySqlSink, MYSQL_MAX_IDENTIFIER, mysqlColumnType, verifyTables };
