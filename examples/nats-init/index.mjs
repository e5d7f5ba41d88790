// The NATS bootstrap protocol end to end. A bridge streams public.orders to JetStream (cdc.orders.<operation>,
// stream CDC) and answers snapshot requests (chunks on init.snap.orders.<id>.<n>, metadata on init.meta.orders,
// stream INIT; schemas in KV `schemas`). A consumer (mirror.mjs) copies the table into PGlite from the INIT
// chunks plus the CDC events after the snapshot's LSN, while orders keep being written; at the end the mirror is
// compared with the source. DATABASE_URL: your database (else an embedded Postgres); NATS_URL: default
// 127.0.0.1:4222; EXAMPLE_SECONDS: how long to keep writing (default 3); NATS_NAMESPACE: a prefix for every
// subject, stream and bucket name (default none), so several copies can share one NATS server.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPipeline, filterSink, parseLsn } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createNatsInit } from '@walstream/nats-init';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import pg from 'pg';
import { mirror } from './mirror.mjs';

const servers = process.env.NATS_URL ?? '127.0.0.1:4222';
const ns = process.env.NATS_NAMESPACE ?? ''; // e.g. "test1." -> test1.cdc.orders.insert
const names = {
  cdc: `${ns.replaceAll('.', '_')}CDC`,
  init: `${ns.replaceAll('.', '_')}INIT`,
  kv: `${ns.replaceAll('.', '_')}schemas`,
};
const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres('shop');
const url = process.env.DATABASE_URL ?? embedded.url;
const db = new pg.Client({ connectionString: url });
await db.connect();
await db.query(
  `CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, status text NOT NULL, amount numeric(10,2), note text)`,
);
await db.query(
  `INSERT INTO orders (status, amount, note) SELECT 'new', g / 100.0, md5(g::text) FROM generate_series(1, 5000) g`,
);

// Fresh streams: an embedded Postgres repeats event ids from run to run (JetStream would drop them as duplicates).
const nc = await connect({ servers });
const jsm = await jetstreamManager(nc);
for (const s of [names.cdc, names.init]) await jsm.streams.delete(s).catch(() => {});

const reader = createPostgresReader({
  connectionString: url,
  slot: 'nats_init',
  publication: 'nats_init',
  tables: ['orders'],
});
const init = createNatsInit({
  servers,
  reader,
  publication: 'nats_init',
  connectionString: url,
  chunkRows: 1000,
  prefix: `${ns}init`,
  requestSubject: `${ns}snapshot.request`,
  stream: { name: names.init, subjects: [`${ns}init.>`] },
  schemaBucket: names.kv,
});
const pipeline = createPipeline({
  name: 'nats-init',
  reader,
  sinks: [
    // CDC gets changes only; snapshot rows go to the INIT stream.
    filterSink(
      createNatsSink({
        servers,
        subject: `${ns}cdc.{table}.{operation}`,
        stream: { name: names.cdc, subjects: [`${ns}cdc.>`] },
        schemaBucket: false,
      }),
      {
        operations: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'],
      },
    ),
    init.sink,
  ],
});
await pipeline.start();
await init.start();
console.log('bridge running; orders are being written');

let writing = true;
const writer = (async () => {
  while (writing) {
    const id = 1 + Math.floor(Math.random() * 5000);
    await db.query(`UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id = $1`, [id]);
    await db.query(`INSERT INTO orders (status, amount) VALUES ('new', 9.99)`);
    await db.query('DELETE FROM orders WHERE id = $1', [1 + Math.floor(Math.random() * 5000)]);
  }
})();

const m = await mirror({
  servers,
  table: 'orders',
  ns,
  cdcStream: names.cdc,
  bucket: names.kv,
  log: (line) => console.log(`mirror: ${line}`),
});
await new Promise((r) => setTimeout(r, Number(process.env.EXAMPLE_SECONDS ?? 3) * 1000));
writing = false;
await writer;
const { rows: lsnRows } = await db.query('SELECT pg_current_wal_insert_lsn()::text AS lsn');
const end = parseLsn(lsnRows[0].lsn);
const { rows: lastRows } = await db.query(`SELECT max(id) AS id FROM orders`);
await db.query(`UPDATE orders SET note = 'last' WHERE id = $1`, [lastRows[0].id]);
while (m.lastLsn < end) await new Promise((r) => setTimeout(r, 50));

const cols = 'id, status, amount::text AS amount, note';
const source = (await db.query(`SELECT ${cols} FROM orders ORDER BY id`)).rows;
const copy = (await m.db.query(`SELECT ${cols} FROM orders ORDER BY id`)).rows;
const same = JSON.stringify(source) === JSON.stringify(copy);
console.log(
  same
    ? `mirror matches the source: ${copy.length} rows`
    : `MISMATCH: source ${source.length} rows, mirror ${copy.length}`,
);

await m.stop();
await pipeline.stop();
await init.close();
if (process.env.NATS_CLEANUP === '1') {
  for (const s of [names.cdc, names.init, `KV_${names.kv}`]) await jsm.streams.delete(s).catch(() => {});
}
await nc.close();
await db.end();
await embedded?.stop();
process.exit(same ? 0 : 1);
