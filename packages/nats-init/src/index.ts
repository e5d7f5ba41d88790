/**
 * @walstream/nats-init: the reference NATS bridge's bootstrap (INIT) protocol beside a CDC pipeline. Schemas of
 * all published tables go to a KV bucket at start; a request on `snapshot.request.{table}` copies the table in
 * chunks to `init.snap.{table}.{snapshot_id}.{chunk}`, then metadata to `init.meta.{table}`, while CDC flows on.
 *
 * ```ts
 * import { createPipeline, filterSink } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createNatsSink } from '@walstream/sink-nats';
 * import { createNatsInit } from '@walstream/nats-init';
 *
 * const reader = createPostgresReader({ connectionString, slot: 'bridge', publication: 'bridge', tables: ['orders'] });
 * const init = createNatsInit({ servers: '127.0.0.1:4222', reader, publication: 'bridge', connectionString });
 * const cdc = filterSink(createNatsSink({ servers: '127.0.0.1:4222' }), { operations: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] });
 * const pipeline = createPipeline({ name: 'bridge', reader, sinks: [cdc, init.sink] });
 * await pipeline.start();
 * await init.start(); // now: nats req snapshot.request.orders ''
 * ```
 */
export type { InitSnapshot, NatsInit } from './init.js';
export { createNatsInit } from './init.js';
export type { NatsInitOptions } from './options.js';
export type { InitChunk, InitMeta } from './payload.js';
export { decodeInitMessage, encodeChunk, encodeMeta } from './payload.js';
export { publishedSchemas } from './schemas.js';
