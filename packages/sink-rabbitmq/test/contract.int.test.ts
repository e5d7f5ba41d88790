/**
 * The sink contract of @walstream/core/testing, with real faults through a proxy: a connection cut in the middle of
 * a batch's publishes (the broker keeps the messages it received whole, the write fails, the retry publishes the
 * batch again), and the broker unreachable at open.
 */
import { describeSinkContract } from '@walstream/core/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { createRabbitMqSink } from '../src/index.js';
import { boundQueue, holdingProxy, unique } from './helpers.js';

let conn: amqp.ChannelModel;
let admin: amqp.Channel;
beforeAll(async () => {
  conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  admin = await conn.createChannel();
});
afterAll(() => conn.close());

describeSinkContract(
  'rabbitmq',
  async () => {
    const exchange = unique();
    const q = await boundQueue(admin, exchange);
    const proxy = await holdingProxy(); // lets a case make the broker unreachable for this sink only
    return {
      sink: createRabbitMqSink({ url: proxy.url, exchange }),
      readBack: q.drain,
      faults: {
        failNextWritePartway() {
          // The suite's batches are a few messages of ~450 bytes each: the cut falls in the second publish.
          proxy.cutAfterClientBytes(700);
        },
        async breakOpen() {
          proxy.refuse(true);
          return () => proxy.refuse(false);
        },
      },
      cleanup: async () => {
        await proxy.close();
        await admin.deleteExchange(exchange);
      },
    };
  },
  { idempotent: false },
);
