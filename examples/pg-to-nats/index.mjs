// Postgres -> NATS JetStream. Every change of public.orders becomes a message on cdc.orders.<operation>
// (MessagePack, Nats-Msg-Id = event id) in stream CDC; table schemas go to the KV bucket `schemas`.
// DATABASE_URL: your database (else an embedded Postgres is started); NATS_URL: default 127.0.0.1:4222;
// EXAMPLE_SECONDS: stop after that long (else Ctrl-C). Read the stream with: node consumer.mjs
import { createPipeline } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import pg from 'pg';

const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres('shop');
const url = process.env.DATABASE_URL ?? embedded.url;
const db = new pg.Client({ connectionString: url });
await db.connect();
await db.query('CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, status text NOT NULL, amount numeric(10,2))');

const pipeline = createPipeline({
  name: 'pg-to-nats',
  reader: createPostgresReader({
    connectionString: url,
    slot: 'nats_bridge',
    publication: 'nats_bridge',
    tables: ['orders'],
  }),
  sinks: [
    createNatsSink({
      servers: process.env.NATS_URL ?? '127.0.0.1:4222',
      stream: { name: 'CDC', subjects: ['cdc.>'] }, // created when missing
    }),
  ],
});
pipeline.on('committed', (e) => console.log(`confirmed to Postgres up to commit ${e.position.lsn.toString(16)}`));
await pipeline.start();
console.log('bridge running: writing an order every second');

const writer = setInterval(async () => {
  const { rows } = await db.query(`INSERT INTO orders (status, amount) VALUES ('pending', 19.90) RETURNING id`);
  await db.query(`UPDATE orders SET status = 'paid' WHERE id = $1`, [rows[0].id]);
}, 1000);

async function shutdown() {
  clearInterval(writer);
  await pipeline.stop();
  await db.end();
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
if (process.env.EXAMPLE_SECONDS) setTimeout(shutdown, Number(process.env.EXAMPLE_SECONDS) * 1000);
