/**
 * @walstream/reader-postgres: a LogReader over Postgres logical replication (pgoutput, protocol 1-4).
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createFileSink } from '@walstream/sink-file';
 *
 * const reader = createPostgresReader({
 *   connectionString: 'postgres://postgres@127.0.0.1:5432/shop',
 *   slot: 'orders_slot',
 *   publication: 'orders_pub',
 *   tables: ['public.orders'],
 * });
 * const pipeline = createPipeline({ name: 'orders', reader, sinks: [createFileSink({ path: 'out/orders.jsonl' })] });
 * await pipeline.start();
 * ```
 */

// First: loads pg without its Cloudflare probe (see pg-preload.ts).
import './pg-preload.js';

export type { ChangeDecoderOptions, TransactionEnd } from './change-decoder.js';
export { ChangeDecoder, pgTimeToIso } from './change-decoder.js';
export type { DropReplicationOptions, DropReplicationResult } from './drop.js';
export { dropReplication } from './drop.js';
export {
  ConnectionError,
  PublicationMissingError,
  ReplicaIdentityError,
  SlotActiveError,
  SlotInvalidatedError,
  WalLevelError,
} from './errors.js';
export type { HeartbeatOptions, PostgresReaderOptions, ReconnectOptions } from './options.js';
export { decodePgoutput } from './protocol/decode.js';
export type { PgoutputMessage, RelationColumn } from './protocol/messages.js';
export { createPostgresReader } from './reader.js';
export type { PostgresReader, PostgresReaderStatus } from './reader-types.js';
export type { TableInfo } from './setup.js';
export { maxProtocol } from './setup.js';
export type {
  PostgresCheckpointStoreOptions,
  SnapshotCheckpointStore,
  SnapshotJobState,
} from './snapshot/checkpoint.js';
export { createPostgresCheckpointStore, DEFAULT_CHECKPOINT_TABLE } from './snapshot/checkpoint.js';
export { NoPrimaryKeyError, SnapshotError } from './snapshot/errors.js';
export type { SnapshotOptions } from './snapshot/options.js';
export type { SnapshotHandle, SnapshotResult } from './snapshot/snapshotter.js';
export { parseTableName, quoteIdent, quoteLiteral } from './sql.js';
export { TypeRegistry } from './types/registry.js';
export { parseArray } from './types/text.js';
