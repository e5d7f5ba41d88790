/**
 * @walstream/core: the normalized ChangeEvent model, the LogReader and Sink interfaces, and the Pipeline that
 * carries events from one reader to many sinks, confirming to the source only what every sink holds.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createFileSink } from '@walstream/sink-file';
 *
 * const pipeline = createPipeline({
 *   name: 'orders-sync',
 *   reader: createPostgresReader({ connectionString, slot: 'orders_slot', publication: 'orders_pub', tables: ['public.orders'] }),
 *   sinks: [createFileSink({ path: 'out/changes.jsonl' })],
 * });
 * await pipeline.start();
 * process.on('SIGINT', () => pipeline.stop());
 * await pipeline.done;
 * ```
 */
export { base64ToBytes, bytesToBase64 } from './base64.js';
export type { Codec } from './codec.js';
export { CodecError } from './codec-error.js';
export {
  decodeEventJson,
  encodeEventJson,
  encodeRowJson,
  encodeValueJson,
  eventFromJsonObject,
  jsonCodec,
} from './codec-json.js';
export {
  decodeEventMsgpack,
  decodeMsgpackMulti,
  decodeMsgpackRecords,
  encodeEventMsgpack,
  encodeMsgpack,
  fromMsgpackObject,
  msgpackCodec,
  RAW_JSON_EXT,
  toMsgpackObject,
} from './codec-msgpack.js';
export { CommitTracker } from './commit-tracker.js';
export type { WalstreamErrorOptions } from './errors.js';
export {
  ConfigError,
  DecodeError,
  describe as describeError,
  ErrorCode,
  isRetriable,
  RetriesExhaustedError,
  SinkError,
  toWalstreamError,
  WalstreamError,
} from './errors.js';
export type {
  Batch,
  ChangeEvent,
  ColumnSchema,
  Heartbeat,
  ReaderItem,
  ReplicaIdentity,
  Row,
  SchemaChange,
  TableSchema,
  TransactionCommit,
  Value,
} from './event.js';
export { isChangeEvent, Operation, RawJson } from './event.js';
export type { FilterOptions } from './filter.js';
export { filter, filterSink } from './filter.js';
export { groupBy } from './group.js';
export type { LogReader, ReadOptions, Sink, SinkContext, SinkWriteOptions } from './interfaces.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { Lsn } from './lsn.js';
export { formatLsn, lsnFromParts, parseLsn, ZERO_LSN } from './lsn.js';
export type { MaskOptions, MaskStrategy } from './mask.js';
export { DEFAULT_MASK_COLUMNS, EMAIL_NAMES, mask, maskSink, PHONE_NAMES, REDACTED } from './mask.js';
export { parseOptions } from './options.js';
export { createPipeline, NewPipeline } from './pipeline.js';
export type { BatchOptions, PipelineConfig, PipelineOptions, SinkBinding } from './pipeline-config.js';
export {
  DEFAULT_BATCH,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DefaultPipelineConfig,
  resolvePipelineOptions,
} from './pipeline-config.js';
export type {
  Pipeline,
  PipelineEvent,
  PipelineEventType,
  PipelineListener,
  PipelineState,
  PipelineStatus,
  SinkStatus,
} from './pipeline-types.js';
export type { Position } from './position.js';
export {
  comparePositions,
  parsePositionId,
  positionFromJSON,
  positionId,
  positionToJSON,
} from './position.js';
export type { ResolvedRetry, RetryOptions } from './retry.js';
export { backoffDelay, DEFAULT_RETRY, sleep } from './retry.js';
export type { RenameOptions, Route } from './route.js';
export { compileRoute, rename } from './route.js';
export type { SinkState } from './sink-worker.js';
export { estimateEventBytes } from './size.js';
export type { TableMatcher } from './table-match.js';
export { compileTableMatcher } from './table-match.js';
export type { Transform } from './transform.js';
export { composeTransforms, transformBatch, transformSink } from './transform.js';
