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
export { bytesToBase64, base64ToBytes } from './base64.js';
export { CodecError } from './codec-error.js';
export { decodeEventJson, encodeEventJson, encodeRowJson, encodeValueJson, jsonCodec } from './codec-json.js';
export {
  RAW_JSON_EXT,
  decodeEventMsgpack,
  decodeMsgpackMulti,
  encodeEventMsgpack,
  encodeMsgpack,
  fromMsgpackObject,
  msgpackCodec,
  toMsgpackObject,
} from './codec-msgpack.js';
export { CommitTracker } from './commit-tracker.js';
export {
  ConfigError,
  DecodeError,
  ErrorCode,
  RetriesExhaustedError,
  SinkError,
  WalstreamError,
  describe as describeError,
  isRetriable,
  toWalstreamError,
} from './errors.js';
export { Operation, RawJson, isChangeEvent } from './event.js';
export { filter, filterSink } from './filter.js';
export { silentLogger } from './logger.js';
export { ZERO_LSN, formatLsn, lsnFromParts, parseLsn } from './lsn.js';
export { DEFAULT_MASK_COLUMNS, REDACTED, mask, maskSink } from './mask.js';
export { NewPipeline, createPipeline } from './pipeline.js';
export {
  DEFAULT_BATCH,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DefaultPipelineConfig,
  resolvePipelineOptions,
} from './pipeline-config.js';
export {
  comparePositions,
  parsePositionId,
  positionFromJSON,
  positionId,
  positionToJSON,
} from './position.js';
export { DEFAULT_RETRY, backoffDelay, sleep } from './retry.js';
export { compileRoute, rename } from './route.js';
export { estimateEventBytes } from './size.js';
export { compileTableMatcher } from './table-match.js';
export { composeTransforms, transformBatch, transformSink } from './transform.js';

export type { Codec } from './codec.js';
export type { WalstreamErrorOptions } from './errors.js';
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
export type { FilterOptions } from './filter.js';
export type { LogReader, ReadOptions, Sink, SinkContext, SinkWriteOptions } from './interfaces.js';
export type { Logger } from './logger.js';
export type { Lsn } from './lsn.js';
export type { MaskOptions, MaskStrategy } from './mask.js';
export type { BatchOptions, PipelineConfig, PipelineOptions, SinkBinding } from './pipeline-config.js';
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
export type { ResolvedRetry, RetryOptions } from './retry.js';
export type { RenameOptions, Route } from './route.js';
export type { SinkState } from './sink-worker.js';
export type { TableMatcher } from './table-match.js';
export type { Transform } from './transform.js';
