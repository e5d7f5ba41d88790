// Postgres -> MySQL/MariaDB sync: public.orders lands in MySQL as orders_copy (created from the Postgres schema),
// existing rows first, then every change, exactly once; at the end verifyTables compares both sides by key.
// DATABASE_URL: your Postgres (else an embedded one); MYSQL_URL: default mysql://root@127.0.0.1:3306/test;
// EXAMPLE_SECONDS: run that long (default 5).
import { createPipeline } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createMySqlSink, verifyTables } from '@walstream/sink-mysql';
import pg from 'pg';

const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres('shop');
const url = process.env.DATABASE_URL ?? embedded.url;
const mysqlUrl = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const db = new pg.Client({ connectionString: url });
await db.connect();
await db.query(`CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer text NOT NULL,
  amount numeric(10,2), placed_at timestamptz DEFAULT now(), tags text[])`);

// 1000 rows exist before the sync starts: the initial snapshot copies them (READ events), then changes stream.
await db.query(
  `INSERT INTO orders (customer, amount, tags) SELECT 'c' || i, i * 1.25, '{new}' FROM generate_series(1, 1000) i`,
);
const reader = createPostgresReader({
  connectionString: url,
  slot: 'mysql_sync',
  publication: 'mysql_sync',
  tables: ['orders'],
  snapshot: { mode: 'initial' },
});

const sink = createMySqlSink({
  connectionString: mysqlUrl,
  createTables: true,
  tables: { orders: { table: 'orders_copy' } },
});
const pipeline = createPipeline({ name: 'pg-to-mysql', reader, sinks: [sink] });
await pipeline.start();
const writer = setInterval(async () => {
  await db.query(
    `UPDATE orders SET amount = amount + 1, tags = tags || '{paid}' WHERE id = (SELECT max(id) FROM orders)`,
  );
  await db.query(`DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)`);
  await db.query(`INSERT INTO orders (customer, amount) VALUES ('late', 9.99)`);
}, 200);
await new Promise((r) => setTimeout(r, Number(process.env.EXAMPLE_SECONDS ?? 5) * 1000));
clearInterval(writer);

// Verify once the target has caught up (while the sync keeps running).
let result;
for (let i = 0; i < 40 && !result?.equal; i++) {
  await new Promise((r) => setTimeout(r, 250));
  result = await verifyTables({ source: url, target: mysqlUrl, tables: [{ source: 'orders', target: 'orders_copy' }] });
}
const [t] = result.tables;
console.log(
  `verify: equal=${result.equal} missing=${t.missing.length} extra=${t.extra.length} different=${t.different.length}`,
);
await pipeline.stop();
console.log(`applied up to ${sink.position ? `${sink.position.lsn.toString(16)}:${sink.position.index}` : 'nothing'}`);
await db.end();
await embedded?.stop();
process.exit(result.equal ? 0 : 1);
