/**
 * @walstream/sink-rabbitmq: publisher confirms, mandatory persistent publishes, message_id = event id.
 *
 * ```ts
 * import { createRabbitMqSink } from '@walstream/sink-rabbitmq';
 * const sink = createRabbitMqSink({ url: 'amqp://guest:guest@127.0.0.1' }); // exchange walstream, key {schema}.{table}.{operation}
 * ```
 */

export type { RabbitMqSinkOptions } from './rabbitmq-sink.js';
export { createRabbitMqSink, routingWord } from './rabbitmq-sink.js';
