// Binds a queue to the `walstream` exchange, runs a pipeline into it, then reads the queue back.
// RABBITMQ_URL: default amqp://guest:guest@127.0.0.1. Run: pnpm --filter @walstream/example-rabbitmq start
import { createPipeline } from '@walstream/core';
import { createArrayReader, makeTransactions } from '@walstream/core/testing';
import { createRabbitMqSink } from '@walstream/sink-rabbitmq';
import amqp from 'amqplib';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1';
const conn = await amqp.connect(url);
const ch = await conn.createChannel();
await ch.assertExchange('walstream', 'topic', { durable: true });
const { queue } = await ch.assertQueue('walstream-example', { durable: true });
await ch.bindQueue(queue, 'walstream', 'public.items.*'); // unbound keys would fail the write (mandatory)

const pipeline = createPipeline({
  name: 'rabbitmq-example',
  reader: createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2 })),
  sinks: [createRabbitMqSink({ url })], // exchange walstream, key {schema}.{table}.{operation}
});
await pipeline.start();
await pipeline.done; // every message confirmed by the broker before the position was confirmed

for (let m = await ch.get(queue); m !== false; m = await ch.get(queue)) {
  console.log(`${m.fields.routingKey} message_id=${m.properties.messageId} ${m.content.toString().slice(0, 60)}...`);
  ch.ack(m);
}
await ch.deleteQueue(queue);
await conn.close();
