/**
 * @walstream/core: the normalized ChangeEvent model, the LogReader and Sink interfaces, and the Pipeline that
 * carries events from one reader to many sinks, confirming to the source only what every sink holds.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createFileSink } from '@walstream/sink-file';
 *
 * const connectionString = process.env.DATABASE_URL ?? 'postgres://replicator@localhost:5432/shop';
 * const pipeline = createPipeline({
 *   name: 'orders-sync',
 *   reader: createPostgresReader({ connectionString, slot: 'orders_slot', publication: 'orders_pub', tables: ['public.orders'] }),
 *   sinks: [createFileSink({ path: 'out/changes.jsonl' })],
 * });
 * process.once('SIGINT', () => void pipeline.stop()); // drain, confirm, close
 * await pipeline.start();
 * await pipeline.done;
 * ```
 */

import { base64ToBytes, bytesToBase64 } from './base64.js';
import type { Codec } from './codec.js';
import { CodecError } from './codec-error.js';
import {
  decodeEventJson,
  encodeEventJson,
  encodeRowJson,
  encodeValueJson,
  eventFromJsonObject,
  jsonCodec,
} from './codec-json.js';
import {
  decodeEventMsgpack,
  decodeMsgpackMulti,
  encodeEventMsgpack,
  fromMsgpackObject,
  msgpackCodec,
  RAW_JSON_EXT,
} from './codec-msgpack.js';
import type { WalstreamErrorOptions } from './errors.js';
import {
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
import type {
  Batch,
  ChangeEvent,
  ColumnSchema,
  Heartbeat,
  ReaderItem,
  ReplicaIdentity,
  Row,
  SchemaChange,
  TableSchema,
  TableSnapshotProgress,
  TransactionCommit,
  Value,
} from './event.js';
import { isChangeEvent, Operation, RawJson } from './event.js';
import type { FilterOptions } from './filter.js';
import { filter, filterSink } from './filter.js';
import type { LogReader, ReadOptions, Sink, SinkContext, SinkWriteOptions, SourceStart } from './interfaces.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import type { Lsn } from './lsn.js';
import { formatLsn, lsnFromParts, parseLsn, ZERO_LSN } from './lsn.js';
import type { MaskOptions, MaskStrategy } from './mask.js';
import { DEFAULT_MASK_COLUMNS, EMAIL_NAMES, mask, maskSink, PHONE_NAMES, REDACTED } from './mask.js';
import { parseOptions } from './options.js';
import { createPipeline, NewPipeline } from './pipeline.js';
import type { BatchOptions, PipelineConfig, PipelineOptions, SinkBinding } from './pipeline-config.js';
import {
  DEFAULT_BATCH,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DefaultPipelineConfig,
} from './pipeline-config.js';
import type {
  Pipeline,
  PipelineEvent,
  PipelineEventType,
  PipelineListener,
  PipelineState,
  PipelineStatus,
  SinkStatus,
} from './pipeline-types.js';
import type { Position } from './position.js';
import { comparePositions, parsePositionId, positionFromJSON, positionId, positionToJSON } from './position.js';
import type { ResolvedRetry, RetryOptions } from './retry.js';
import { DEFAULT_RETRY } from './retry.js';
import type { RenameOptions, Route } from './route.js';
import { compileRoute, rename } from './route.js';
import type { SinkState } from './sink-worker.js';
import { estimateEventBytes } from './size.js';
import type { TableMatcher } from './table-match.js';
import { compileTableMatcher } from './table-match.js';
import type { Transform } from './transform.js';
import { composeTransforms, transformBatch, transformSink } from './transform.js';

export type {
  Batch,
  BatchOptions,
  ChangeEvent,
  Codec,
  ColumnSchema,
  FilterOptions,
  Heartbeat,
  Logger,
  LogReader,
  Lsn,
  MaskOptions,
  MaskStrategy,
  Pipeline,
  PipelineConfig,
  PipelineEvent,
  PipelineEventType,
  PipelineListener,
  PipelineOptions,
  PipelineState,
  PipelineStatus,
  Position,
  ReaderItem,
  ReadOptions,
  RenameOptions,
  ReplicaIdentity,
  ResolvedRetry,
  RetryOptions,
  Route,
  Row,
  SchemaChange,
  Sink,
  SinkBinding,
  SinkContext,
  SinkState,
  SinkStatus,
  SinkWriteOptions,
  SourceStart,
  TableMatcher,
  TableSchema,
  TableSnapshotProgress,
  TransactionCommit,
  Transform,
  Value,
  WalstreamErrorOptions,
};
export {
  base64ToBytes,
  bytesToBase64,
  CodecError,
  ConfigError,
  comparePositions,
  compileRoute,
  compileTableMatcher,
  composeTransforms,
  createPipeline,
  DEFAULT_BATCH,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MASK_COLUMNS,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_RETRY,
  DecodeError,
  DefaultPipelineConfig,
  decodeEventJson,
  decodeEventMsgpack,
  decodeMsgpackMulti,
  describeError,
  EMAIL_NAMES,
  ErrorCode,
  encodeEventJson,
  encodeEventMsgpack,
  encodeRowJson,
  encodeValueJson,
  estimateEventBytes,
  eventFromJsonObject,
  filter,
  filterSink,
  formatLsn,
  fromMsgpackObject,
  isChangeEvent,
  isRetriable,
  jsonCodec,
  lsnFromParts,
  mask,
  maskSink,
  msgpackCodec,
  NewPipeline,
  Operation,
  PHONE_NAMES,
  parseLsn,
  parseOptions,
  parsePositionId,
  positionFromJSON,
  positionId,
  positionToJSON,
  RAW_JSON_EXT,
  RawJson,
  REDACTED,
  RetriesExhaustedError,
  rename,
  SinkError,
  silentLogger,
  toWalstreamError,
  transformBatch,
  transformSink,
  WalstreamError,
  ZERO_LSN,
};
