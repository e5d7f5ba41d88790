import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('pg-to-nats bridges Postgres to JetStream and the consumer reads and acknowledges', async () => {
  // Each run starts a fresh embedded Postgres, so its event ids (LSN:index) repeat from run to run; within the
  // stream's duplicate window JetStream would drop them. Start from a fresh CDC stream (the example recreates it).
  const nc = await connect({ servers: '127.0.0.1:4222' });
  await (await jetstreamManager(nc)).streams.delete('CDC').catch(() => {});
  await nc.close();
  const bridge = await runExample('examples/pg-to-nats/index.mjs', { EXAMPLE_SECONDS: '4' });
  expect(bridge.code, bridge.output).toBe(0);
  expect(bridge.output).toMatch(/confirmed to Postgres up to commit/);
  const consumer = await runExample('examples/pg-to-nats/consumer.mjs', { CONSUMER_SECONDS: '2' });
  expect(consumer.code, consumer.output).toBe(0);
  expect(consumer.output).toMatch(/cdc\.orders\.(insert|update) [0-9A-F]+\/[0-9A-F]+:0 (INSERT|UPDATE)/);
});
