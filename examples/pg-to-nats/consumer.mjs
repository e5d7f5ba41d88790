// Reads the CDC stream with a durable consumer, decodes each MessagePack event and acknowledges it.
// NATS_URL: default 127.0.0.1:4222; CONSUMER_SECONDS: stop after that long (else Ctrl-C).
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { decodeEventMsgpack } from '@walstream/core';

const nc = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
const jsm = await jetstreamManager(nc);
await jsm.consumers.add('CDC', { durable_name: 'example', ack_policy: AckPolicy.Explicit }).catch(() => {});
const consumer = await jetstream(nc).consumers.get('CDC', 'example');
const messages = await consumer.consume();
if (process.env.CONSUMER_SECONDS) setTimeout(() => messages.stop(), Number(process.env.CONSUMER_SECONDS) * 1000);
process.on('SIGINT', () => messages.stop());
for await (const m of messages) {
  const e = decodeEventMsgpack(m.data);
  console.log(
    `${m.subject} ${e.id} ${e.operation} ${JSON.stringify(e.after, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`,
  );
  m.ack(); // at least once: a consumer must tolerate a redelivery, deduplicating by e.id if needed
}
await nc.drain();
