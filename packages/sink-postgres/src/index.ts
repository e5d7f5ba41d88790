/**
 * @walstream/sink-postgres: applies changes to a Postgres database exactly once (upsert/delete by key, the
 * source position stored in the target in the same transaction); `verifyTables` compares source and target.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createPostgresSink } from '@walstream/sink-postgres';
 *
 * const pipeline = createPipeline({
 *   name: 'replica',
 *   reader: createPostgresReader({ connectionString: source, slot: 'replica', publication: 'replica', tables: ['orders'] }),
 *   sinks: [createPostgresSink({ connectionString: 'postgres://postgres@127.0.0.1:5432/replica', createTables: true })],
 * });
 * await pipeline.start();
 * ```
 */
// First: loads pg without its Cloudflare probe (see pg-preload.ts).
import './pg-preload.js';
import { ApplyError, ApplyErrorReason } from './apply/errors.js';
import type { ApplyCommonOptions, ColumnFilter } from './apply/options.js';
import type { ApplySink } from './apply/sink.js';
import { POSTGRES_MAX_IDENTIFIER, pgColumnType } from './pg-dialect.js';
import type { PostgresSinkOptions, PostgresTableMapping } from './postgres-sink.js';
import { createPostgresSink } from './postgres-sink.js';
import type { TableName } from './verify/pg-side.js';
import type { VerifyOptions, VerifyResult, VerifyTableResult, VerifyTableSpec } from './verify.js';
import { verifyTables } from './verify.js';

export type {
  ApplyCommonOptions,
  ApplySink,
  ColumnFilter,
  PostgresSinkOptions,
  PostgresTableMapping,
  TableName,
  VerifyOptions,
  VerifyResult,
  VerifyTableResult,
  VerifyTableSpec,
};
export { ApplyError, ApplyErrorReason, createPostgresSink, POSTGRES_MAX_IDENTIFIER, pgColumnType, verifyTables };
