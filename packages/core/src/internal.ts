/**
 * `@walstream/core/internal`: building blocks the walstream packages share that are not part of the public API
 * and may change in any release. Applications should not import from here.
 *
 * ```ts
 * import { groupBy } from '@walstream/core/internal';
 * const byTable = groupBy(batch.events, (e) => `${e.schema}.${e.table}`);
 * ```
 */
import { settleWithin } from './bounded.js';
import { decodeMsgpackRecords, encodeMsgpack, toMsgpackObject } from './codec-msgpack.js';
import { CommitTracker } from './commit-tracker.js';
import { connectFailureReason, withConnectReason } from './connect-reason.js';
import { faultPoint } from './fault.js';
import { setField } from './fields.js';
import { groupBy } from './group.js';
import { PROTO_KEY } from './msgpack-writer.js';
import { loadPgQuietly } from './pg-load.js';
import { type ResolvedPipelineOptions, resolvePipelineOptions } from './pipeline-config.js';
import { backoffDelay, sleep } from './retry.js';
import { TimeSlice } from './time-slice.js';
import { ArraySchema, type Infer, type Issue, NumberSchema, type Result, Schema, StringSchema, v } from './validate.js';

export type { Infer, Issue, ResolvedPipelineOptions, Result };
export {
  ArraySchema,
  backoffDelay,
  CommitTracker,
  connectFailureReason,
  decodeMsgpackRecords,
  encodeMsgpack,
  faultPoint,
  groupBy,
  loadPgQuietly,
  NumberSchema,
  PROTO_KEY,
  resolvePipelineOptions,
  Schema,
  StringSchema,
  setField,
  settleWithin,
  sleep,
  TimeSlice,
  toMsgpackObject,
  v,
  withConnectReason,
};
