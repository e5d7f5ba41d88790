// Postgres -> WebSockets -> a live table in the browser. Open the printed URL, then change public.orders (psql, or
// EXAMPLE_WRITE=1 writes an order every second): the page updates as each transaction commits. customer_email is
// masked before it leaves the server. The page loads a snapshot over HTTP on every (re)connect, then applies events.
// DATABASE_URL: your database (else an embedded Postgres is started); REDIS_URL: default redis://127.0.0.1:6379;
// PORT: default 4000 (0 = any free one); CHANNEL_PREFIX: Redis channel prefix; EXAMPLE_SECONDS: stop after that long.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createPipeline } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createRealtimeServer } from '@walstream/realtime';
import { SignJWT } from 'jose';
import pg from 'pg';

// Demo only: a real app gets tokens from its auth service and keeps the secret out of the code.
const secret = process.env.JWT_SECRET ?? 'walstream-realtime-example-secret-change-me';
const project = 'demo';

const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres('shop');
const url = process.env.DATABASE_URL ?? embedded.url;
const db = new pg.Client({ connectionString: url });
await db.connect();
await db.query(`CREATE TABLE IF NOT EXISTS orders (
  id serial PRIMARY KEY, project_id text NOT NULL, status text NOT NULL, amount numeric(10,2), customer_email text)`);
// A DELETE carries the old row's replica identity only: FULL puts project_id in it, so deletes reach the project topic.
await db.query('ALTER TABLE orders REPLICA IDENTITY FULL');

const page = readFileSync(new URL('./public/index.html', import.meta.url));
const client = readFileSync(fileURLToPath(import.meta.resolve('@walstream/realtime/client')));
const http = createServer(async (req, res) => {
  try {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    } else if (req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(client);
    } else if (req.url === '/token') {
      const token = await new SignJWT({ projects: [project], role: 'user' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(token);
    } else if (req.url === '/orders') {
      // The snapshot, masked like the live events (the page never sees an email).
      const { rows } = await db.query(
        `SELECT id, status, amount::text AS amount, '[REDACTED]' AS customer_email FROM orders WHERE project_id = $1 ORDER BY id`,
        [project],
      );
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(rows));
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    res.writeHead(500).end(String(err.message));
  }
});

const realtime = createRealtimeServer({
  server: http,
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  channelPrefix: process.env.CHANNEL_PREFIX ?? 'example:',
  auth: { secret },
  projectColumn: 'project_id',
  mask: { columns: ['email'], strategy: 'redact' },
});
await new Promise((resolve) => http.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', resolve));
await realtime.ready;

const pipeline = createPipeline({
  name: 'realtime-example',
  reader: createPostgresReader({
    connectionString: url,
    slot: 'realtime_example',
    publication: 'realtime_example',
    tables: ['orders'],
  }),
  sinks: [realtime.sink],
  batch: { maxWaitMs: 10 },
});
await pipeline.start();
console.log(`live table at http://127.0.0.1:${http.address().port}/`);

const writer = process.env.EXAMPLE_WRITE
  ? setInterval(() => {
      db.query(
        `INSERT INTO orders (project_id, status, amount, customer_email) VALUES ($1, 'new', 19.90, 'ada@example.org')`,
        [project],
      );
    }, 1000)
  : null;

async function shutdown() {
  clearInterval(writer);
  await pipeline.stop();
  await realtime.close();
  http.close();
  await db.end();
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
if (process.env.EXAMPLE_SECONDS) setTimeout(shutdown, Number(process.env.EXAMPLE_SECONDS) * 1000);
