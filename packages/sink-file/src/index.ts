/**
 * @walstream/sink-file: JSON Lines or MessagePack files, fsync before each write resolves, rotation by size
 * and time, a transaction-log mode, and idempotent replay after a restart.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createFileSink } from '@walstream/sink-file';
 * const pipeline = createPipeline({ name: 'audit', reader, sinks: [createFileSink({ path: 'out/changes.jsonl' })] });
 * ```
 */

export type { FileSink } from './file-sink.js';
export { createFileSink } from './file-sink.js';
export type { FileSinkOptions } from './options.js';
export type { FileTail, Format, TransactionRecord } from './records.js';
export { readEvents, readTail } from './records.js';
