import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describeSinkContract } from '@walstream/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createNatsSink } from '../src/index.js';
import { streamEvents } from './stream-events.js';

const SERVER = '127.0.0.1:4222';
let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: SERVER });
});
afterAll(() => nc.close());

for (const mode of ['event', 'batch'] as const) {
  describeSinkContract(
    `nats ${mode}`,
    async () => {
      const prefix = `t${randomBytes(4).toString('hex')}`;
      const stream = prefix.toUpperCase();
      const jsm = await jetstreamManager(nc);
      const createStream = () => jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
      await createStream();
      // The sink verifies the stream at open and must not create it: a missing stream is a broken destination.
      const make = () =>
        createNatsSink({
          servers: SERVER,
          mode,
          subject: `${prefix}.{table}.{operation}`,
          stream: { name: stream, subjects: [`${prefix}.>`], create: false },
          schemaBucket: false,
        });
      return {
        sink: make(),
        readBack: () => streamEvents(nc, stream),
        reopen: async () => make(),
        cleanup: async () => {
          await jsm.streams.delete(stream).catch(() => {});
        },
        faults: {
          breakOpen: async () => {
            await jsm.streams.delete(stream);
            return async () => {
              await createStream();
            };
          },
        },
      };
    },
    // Batch mode's Msg-Ids depend on where the pipeline cut the batch: a replay cut elsewhere is stored again.
    { idempotent: mode === 'event' },
  );
}
