// Produces three transactions to Kafka, topic cdc.public.items, keyed by primary key.
// KAFKA_BROKERS: comma-separated brokers (default 127.0.0.1:9092).
// Run: KAFKA_BROKERS=host:9092 pnpm --filter @walstream/example-kafka start
import { createPipeline } from '@walstream/core';
import { createArrayReader, makeTransactions } from '@walstream/core/testing';
import { createKafkaSink } from '@walstream/sink-kafka';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const pipeline = createPipeline({
  name: 'kafka-example',
  reader: createArrayReader(
    makeTransactions({ transactions: 3, eventsPerTransaction: 2, row: (n) => ({ id: n % 2, n }) }),
  ),
  sinks: [createKafkaSink({ brokers })],
  retry: { maxAttempts: 3 },
});
await pipeline.start();
await pipeline.done;
const s = pipeline.status();
console.log(
  `produced ${s.sinks[0].eventsOut} events to cdc.public.items; confirmed up to ${s.committed.lsn.toString(16)}`,
);
