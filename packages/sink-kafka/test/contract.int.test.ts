/**
 * The sink contract of @walstream/core/testing against librdkafka's mock cluster, with a real fault: every broker
 * down at open. The write-partway case uses the suite's simulation here (a one-partition topic keeps the stored
 * order checkable); kafka.int.test.ts has the real partial failure (one partition acknowledged, one refused).
 */
import { describeSinkContract } from '@walstream/core/testing';
import { type KafkaMock, startKafkaMock } from '@walstream/testkit';
import { afterAll, beforeAll } from 'vitest';
import { createKafkaSink } from '../src/index.js';
import { readAll, unique } from './read-topic.js';

const BROKERS = 3;
let mock: KafkaMock;
beforeAll(async () => {
  mock = await startKafkaMock(BROKERS);
});
afterAll(() => mock.stop());

describeSinkContract(
  'kafka',
  async () => {
    const topic = unique();
    await mock.createTopic(topic, 1); // one partition: the order of the whole topic is the write order
    return {
      sink: createKafkaSink({
        brokers: mock.brokers,
        topic,
        kafka: { connectionTimeout: 500, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } },
      }),
      readBack: async () => (await readAll(mock.brokers, topic)).flatMap((m) => (m.event === null ? [] : [m.event])),
      faults: {
        async breakOpen() {
          for (let b = 1; b <= BROKERS; b++) await mock.brokerDown(b);
          return async () => {
            for (let b = 1; b <= BROKERS; b++) await mock.brokerUp(b);
          };
        },
      },
    };
  },
  { idempotent: false },
);
