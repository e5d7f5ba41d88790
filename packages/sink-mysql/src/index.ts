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

export type { ApplyCommonOptions, ColumnFilter } from '@walstream/sink-postgres/internal';
export { ApplyError, ApplyErrorReason } from '@walstream/sink-postgres/internal';
export { MYSQL_MAX_IDENTIFIER } from './dialect.js';
export type { ApplySink, MySqlSinkOptions, MySqlTableMapping } from './mysql-sink.js';
export { createMySqlSink } from './mysql-sink.js';
export type { VerifyOptions, VerifyResult, VerifyTableResult } from './verify.js';
export { verifyTables } from './verify.js';
