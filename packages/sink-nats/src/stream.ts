import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { SinkError } from '@walstream/core';
import { mapNatsError } from './errors.js';
import type { NatsStreamOptions } from './options.js';

/** Verifies the stream, creating it when missing (and allowed). Clear errors when JetStream is off. */
export async function ensureStream(nc: NatsConnection, s: NatsStreamOptions): Promise<void> {
  let jsm: Awaited<ReturnType<typeof jetstreamManager>>;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'JetStreamNotEnabled' || /not enabled/i.test((err as Error).message)) {
      throw new SinkError(
        'JetStream is not enabled on this NATS server (or for this account): start nats-server with -js',
        {
          cause: err,
        },
      );
    }
    throw mapNatsError(err, 'JetStream manager');
  }
  try {
    await jsm.streams.info(s.name);
    return;
  } catch (err) {
    if ((err as Error).name !== 'StreamNotFoundError' && !/stream not found/i.test((err as Error).message)) {
      throw mapNatsError(err, `stream ${s.name}`);
    }
  }
  if (s.create === false) throw new SinkError(`JetStream stream ${s.name} does not exist and stream.create is false`);
  try {
    await jsm.streams.add({
      name: s.name,
      subjects: s.subjects ?? ['cdc.>'],
      storage: s.storage === 'memory' ? StorageType.Memory : StorageType.File,
      duplicate_window: nanos(s.duplicateWindowMs ?? 120_000),
      retention:
        s.retention === 'interest'
          ? RetentionPolicy.Interest
          : s.retention === 'workqueue'
            ? RetentionPolicy.Workqueue
            : RetentionPolicy.Limits,
      max_age: nanos(s.maxAgeMs ?? 0),
    });
  } catch (err) {
    throw mapNatsError(err, `cannot create stream ${s.name}`);
  }
}
