/**
 * @walstream/sink-nats: publish change events to NATS JetStream with Nats-Msg-Id deduplication, an optional
 * batch mode, and table schemas in a KV bucket.
 *
 * ```ts
 * import { createNatsSink } from '@walstream/sink-nats';
 * const sink = createNatsSink({ servers: '127.0.0.1:4222', stream: { name: 'CDC' } }); // cdc.{table}.{operation}
 * ```
 */
export { mapNatsError } from './errors.js';
export type { NatsSink, NatsSinkStatus } from './nats-sink.js';
export { createNatsSink, schemaKey, subjectToken } from './nats-sink.js';
export type { NatsSinkOptions, NatsStreamOptions } from './options.js';
export { encodeMany, encodeOne, loadZstd } from './payload.js';
export { ensureStream } from './stream.js';
