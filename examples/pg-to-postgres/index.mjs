// Postgres -> Postgres: public.orders is replicated into another database (created from the source schema),
// every change exactly once; at the end verifyTables compares both by key.
// DATABASE_URL and TARGET_URL: your databases (else an embedded Postgres with two databases); EXAMPLE_SECONDS: 3.
import { createPipeline } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createPostgresSink, verifyTables } from '@walstream/sink-postgres';
import pg from 'pg';

const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres('shop');
const url = process.env.DATABASE_URL ?? embedded.url;
const db = new pg.Client({ connectionString: url });
await db.connect();
if (!process.env.TARGET_URL) await db.query('CREATE DATABASE replica');
const target = process.env.TARGET_URL ?? url.replace(/\/shop$/, '/replica');
await db.query(
  'CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, status text, amount numeric(12,2), meta jsonb)',
);

const reader = createPostgresReader({
  connectionString: url,
  slot: 'replica',
  publication: 'replica',
  tables: ['orders'],
});
await reader.open(); // creates the slot: changes from here on are captured
const sink = createPostgresSink({ connectionString: target, createTables: true });
const pipeline = createPipeline({ name: 'pg-to-postgres', reader, sinks: [sink] });
await pipeline.start();
const writer = setInterval(async () => {
  await db.query(
    `INSERT INTO orders (status, amount, meta) SELECT 'new', random() * 100, '{"n": 12345678901234567890}' FROM generate_series(1, 50)`,
  );
  await db.query(`UPDATE orders SET status = 'paid' WHERE id % 3 = 0 AND status = 'new'`);
  await db.query('DELETE FROM orders WHERE id % 10 = 0');
}, 200);
await new Promise((r) => setTimeout(r, Number(process.env.EXAMPLE_SECONDS ?? 3) * 1000));
clearInterval(writer);

let result;
for (let i = 0; i < 40 && !result?.equal; i++) {
  await new Promise((r) => setTimeout(r, 250));
  result = await verifyTables({ source: url, target, tables: ['orders'] });
}
const [t] = result.tables;
console.log(
  `verify: equal=${result.equal} missing=${t.missing.length} extra=${t.extra.length} different=${t.different.length}`,
);
await pipeline.stop();
await db.end();
await embedded?.stop();
process.exit(result.equal ? 0 : 1);
