/**
 * @walstream/sink-kafka: keyed, ordered produce with kafkajs (acks = all).
 *
 * ```ts
 * import { createKafkaSink } from '@walstream/sink-kafka';
 * const sink = createKafkaSink({ brokers: ['127.0.0.1:9092'] }); // topic cdc.{schema}.{table}, key = primary key
 * ```
 */

export type { KafkaSinkOptions } from './kafka-sink.js';
export { createKafkaSink, mapKafkaError, topicPart } from './kafka-sink.js';
export { stableKey } from './messages.js';
