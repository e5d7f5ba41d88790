import { runExample, startKafkaMock } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('the kafka example produces to a cluster (the librdkafka mock here)', async () => {
  const mock = await startKafkaMock(1);
  try {
    const r = await runExample('examples/kafka/index.mjs', { KAFKA_BROKERS: mock.brokers.join(',') });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('produced 6 events to cdc.public.items');
  } finally {
    await mock.stop();
  }
});
