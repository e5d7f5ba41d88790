// Scale-out: one slot for two tables vs two slots on disjoint tables (two pipelines in one process, and one
// pipeline per process, as the reference bridge scales: "one instance = one slot"). Every consumer catches up
// on the same WAL (N rows per table, 100-row transactions) into a no-op sink; printed beside pg_recvlogical
// reading one slot for both tables (the walsender's ceiling for a single slot). Median and spread of rounds.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { startPostgres } from '@walstream/testkit';
import pg from 'pg';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000); // per table
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PER_TXN = 100;

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Reads `expected` events from `slot` into a no-op sink; resolves with seconds. */
async function catchUp(url, slot, publication, expected) {
  let seen = 0;
  const t0 = process.hrtime.bigint();
  const pipeline = createPipeline({
    name: slot,
    reader: createPostgresReader({ connectionString: url, slot, publication, protocolVersion: 1 }),
    sinks: [
      {
        name: 'noop',
        async write(b) {
          seen += b.events.length;
          if (seen >= expected) setImmediate(() => void pipeline.stop());
        },
      },
    ],
  });
  await pipeline.start();
  await pipeline.done;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function child(url, slot, publication, expected) {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', url, slot, publication, String(expected)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
  });
}

function recvlogical(cluster, slot, publication, endLsn) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(
      join(cluster.binDir, 'pg_recvlogical'),
      [
        '-d',
        cluster.connectionString,
        '--slot',
        slot,
        '--start',
        '--endpos',
        endLsn,
        '-f',
        '/dev/null',
        '-o',
        'proto_version=1',
        '-o',
        `publication_names=${publication}`,
        '-F',
        '0',
        '-s',
        '1',
      ],
      { stdio: 'ignore' },
    );
    p.on('exit', (code) =>
      code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`pg_recvlogical ${code}`)),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
const spread = (xs) => `${fmt(Math.min(...xs)).trim()}-${fmt(Math.max(...xs)).trim()}`;

export async function run() {
  const cluster = await startPostgres({ version: 15 });
  try {
    const url = cluster.connectionString;
    await sql(
      url,
      `CREATE TABLE users (id int PRIMARY KEY, name text, email text, created timestamptz);
      CREATE TABLE orders (id int PRIMARY KEY, customer text, status text, amount numeric(10,2), created timestamptz);
      CREATE PUBLICATION pub_both FOR TABLE users, orders;
      CREATE PUBLICATION pub_users FOR TABLE users;
      CREATE PUBLICATION pub_orders FOR TABLE orders;`,
    );
    const kinds = ['one', 'two_a', 'two_b', 'proc_a', 'proc_b', 'recv'];
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of kinds) await sql(url, `SELECT pg_create_logical_replication_slot('so_${k}${r}', 'pgoutput')`);
    }
    await sql(
      url,
      `DO $$ BEGIN FOR t IN 0..${ROWS / PER_TXN - 1} LOOP
      INSERT INTO users SELECT g, 'user ' || g, 'u' || g || '@example.com', now() FROM generate_series(t * ${PER_TXN} + 1, (t + 1) * ${PER_TXN}) g;
      COMMIT;
      INSERT INTO orders SELECT g, 'customer ' || g, 'paid', g % 1000 + 0.99, now() FROM generate_series(t * ${PER_TXN} + 1, (t + 1) * ${PER_TXN}) g;
      COMMIT; END LOOP; END $$`,
    );
    const endLsn = (await sql(url, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
    const total = 2 * ROWS;
    const res = { one: [], inProcess: [], processes: [], recv: [] };
    for (let r = 0; r < ROUNDS; r++) {
      res.recv.push(total / (await recvlogical(cluster, `so_recv${r}`, 'pub_both', endLsn)));
      res.one.push(total / (await catchUp(url, `so_one${r}`, 'pub_both', total)));
      const t0 = process.hrtime.bigint();
      await Promise.all([
        catchUp(url, `so_two_a${r}`, 'pub_users', ROWS),
        catchUp(url, `so_two_b${r}`, 'pub_orders', ROWS),
      ]);
      res.inProcess.push(total / (Number(process.hrtime.bigint() - t0) / 1e9));
      const t1 = process.hrtime.bigint();
      await Promise.all([
        child(url, `so_proc_a${r}`, 'pub_users', ROWS),
        child(url, `so_proc_b${r}`, 'pub_orders', ROWS),
      ]);
      res.processes.push(total / (Number(process.hrtime.bigint() - t1) / 1e9));
    }
    const ref = median(res.recv);
    const line = (label, xs) =>
      console.log(
        `  ${label.padEnd(48)}${fmt(median(xs))} rows/s  (${(median(xs) / ref).toFixed(2)}x, runs ${spread(xs)})`,
      );
    console.log(
      `scale-out: ${total.toLocaleString('en-US')} rows in two tables, PostgreSQL 15, protocol 1, median of ${ROUNDS}`,
    );
    line('pg_recvlogical, one slot (reference)', res.recv);
    line('walstream, one slot for both tables', res.one);
    line('walstream, two slots, two pipelines, 1 process', res.inProcess);
    line('walstream, two slots, one process each', res.processes);
    console.log(`  peak RSS of this process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    console.log(
      '  where the bound is: each slot has its own walsender (one server core each); one Node process decodes on one',
    );
    console.log(
      '  core, so two slots in one process share it, while one process per slot uses a core each when cores are free.',
    );
    return {
      name: 'scaleout',
      one: median(res.one),
      inProcess: median(res.inProcess),
      processes: median(res.processes),
      pgRecvlogical: ref,
    };
  } finally {
    await cluster.stop();
  }
}

if (process.argv[2] === '--child') {
  const [, , , url, slot, publication, expected] = process.argv;
  const s = await catchUp(url, slot, publication, Number(expected));
  process.stdout.write(JSON.stringify({ seconds: s }));
} else if (import.meta.url === `file://${process.argv[1]}`) await run();
