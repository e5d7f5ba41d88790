// Initial snapshot: N existing rows are copied by walstream (reader with snapshot.mode 'initial', one
// `COPY (SELECT ... ORDER BY pk) TO STDOUT` per table, cut into chunks, in the slot's exported snapshot -> Pipeline -> no-op sink,
// every value decoded into a READ event) and by
// Postgres' own `COPY (SELECT * FROM t) TO STDOUT` read by psql into /dev/null, on the same table in the same
// run. walstream runs in a child process so its peak RSS is its own. Median and spread of BENCH_ROUNDS rounds.
// Printed beside, for context: the same COPY in primary-key order (what walstream asks the server for), by psql.
// Targets: walstream >= 0.8x COPY rows/s; peak RSS <= 150 MB for 5M rows (memory bounded by the chunk).
// BENCH_ROWS (default 5,000,000), BENCH_ROUNDS (default 3), BENCH_CHUNK (default 10,000), BENCH_PROF=<dir> (profile
// the walstream child), BENCH_MEMTRACE=1 (its memory every 500 ms), BENCH_INFLIGHT_MB (the pipeline's budget),
// BENCH_BATCH_EVENTS (its batch.maxEvents), BENCH_ALLOC=<dir> (an allocation profile of the child).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import pg from 'pg';
import { allocSampling } from './alloc-sampling.mjs';

const ROWS = Number(process.env.BENCH_ROWS ?? 5_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 10_000);

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Child: one initial snapshot into a no-op sink; prints seconds and peak RSS as JSON. */
async function child(url, slot) {
  let seen = 0;
  const t0 = process.hrtime.bigint();
  let t1 = 0n;
  const reader = createPostgresReader({
    connectionString: url,
    slot,
    publication: 'bench_snap',
    snapshot: { mode: 'initial', chunkRows: CHUNK },
  });
  const pipeline = createPipeline({
    name: 'bench-snapshot',
    reader,
    ...(process.env.BENCH_INFLIGHT_MB
      ? { maxInFlightBytes: Math.round(Number(process.env.BENCH_INFLIGHT_MB) * 2 ** 20) }
      : {}),
    ...(process.env.BENCH_BATCH_EVENTS ? { batch: { maxEvents: Number(process.env.BENCH_BATCH_EVENTS) } } : {}),
    sinks: [
      {
        name: 'noop',
        async write(b) {
          for (const e of b.events) if (e.operation === 'READ') seen++;
          if (seen >= ROWS && t1 === 0n) {
            t1 = process.hrtime.bigint();
            setImmediate(() => void pipeline.stop());
          }
        },
      },
    ],
  });
  await pipeline.start();
  // BENCH_MEMTRACE=1: rss, heap and rows every 500 ms on stderr (where the memory goes).
  const trace =
    process.env.BENCH_MEMTRACE === '1'
      ? setInterval(() => {
          // With --expose-gc (NODE_OPTIONS), the heap after a full collection: what is really alive.
          globalThis.gc?.();
          const m = process.memoryUsage();
          const mb = (x) => Math.round(x / 2 ** 20);
          console.error(
            `rss ${mb(m.rss)} heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} ext ${mb(m.external)} ab ${mb(m.arrayBuffers)} rows ${seen} inflight ${mb(pipeline.status().inFlightBytes)}`,
          );
        }, 500)
      : null;
  await pipeline.done;
  if (trace !== null) clearInterval(trace);
  const seconds = Number(t1 - t0) / 1e9;
  const u = process.resourceUsage();
  const cpuSeconds = (u.userCPUTime + u.systemCPUTime) / 1e6;
  process.stdout.write(`${JSON.stringify({ seconds, rows: seen, maxRssMb: u.maxRSS / 1024, cpuSeconds })}\n`);
}

function runChild(url, slot) {
  return new Promise((resolve, reject) => {
    // BENCH_PROF=<dir>: a --cpu-prof profile of the walstream child there.
    const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
    const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
    const p = spawn(process.execPath, [...prof, ...extra, fileURLToPath(import.meta.url), 'child', url, slot], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => {
      // BENCH_NODE_ARGS=--trace-gc and the like print on stdout too: the result is the line that is JSON.
      const line = out
        .trim()
        .split('\n')
        .findLast((l) => l.startsWith('{'));
      if (code === 0 && process.env.BENCH_NODE_ARGS)
        process.stderr.write(
          out
            .split('\n')
            .filter((l) => l !== line)
            .join('\n'),
        );
      code === 0 ? resolve(JSON.parse(line)) : reject(new Error(`child exited ${code}`));
    });
  });
}

/** The headline reference: `COPY (SELECT * FROM t)`; with `ordered`, the server's own read in key order (context). */
function timeCopy(cluster, ordered = false) {
  const sql = ordered
    ? 'BEGIN; SET LOCAL enable_sort = off; COPY (SELECT * FROM orders ORDER BY id) TO STDOUT; COMMIT'
    : 'COPY (SELECT * FROM orders) TO STDOUT';
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(join(cluster.binDir, 'psql'), ['-X', '-q', '-d', cluster.connectionString, '-c', sql], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('exit', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - t0) / 1e9)
        : reject(new Error(`psql exited ${code}: ${err}`)),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  // Imported here, not at the top: the child measures walstream's RSS, not the test harness's.
  const { startPostgres } = await import('@walstream/testkit');
  const cluster = await startPostgres({ version: 15 });
  try {
    const url = cluster.connectionString;
    await sql(
      url,
      'CREATE TABLE orders (id int PRIMARY KEY, customer text, status text, amount numeric(10,2), created timestamptz)',
    );
    await sql(
      url,
      `INSERT INTO orders SELECT g, 'customer ' || g, 'paid', g % 1000 + 0.99, now() FROM generate_series(1, ${ROWS}) g`,
    );
    await sql(url, 'VACUUM ANALYZE orders');
    await sql(url, 'CREATE PUBLICATION bench_snap FOR TABLE orders');
    const ws = [];
    const cpu = [];
    const copy = [];
    const ordered = [];
    let rss = 0;
    for (let r = 0; r < ROUNDS; r++) {
      copy.push(ROWS / (await timeCopy(cluster)));
      ordered.push(ROWS / (await timeCopy(cluster, true)));
      const res = await runChild(url, `bench_snap_${r}`);
      if (res.rows !== ROWS) throw new Error(`walstream copied ${res.rows} rows, expected ${ROWS}`);
      ws.push(ROWS / res.seconds);
      cpu.push((res.cpuSeconds * 1e6) / ROWS);
      rss = Math.max(rss, res.maxRssMb);
      await sql(url, `SELECT pg_drop_replication_slot('bench_snap_${r}')`);
    }
    const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
    const spread = (xs) => `${fmt(Math.min(...xs)).trim()}..${fmt(Math.max(...xs)).trim()}`;
    const ratio = median(ws) / median(copy);
    console.log(
      `initial snapshot: ${ROWS.toLocaleString('en-US')} rows, chunks of ${CHUNK}, PostgreSQL 15, median of ${ROUNDS} (min..max)`,
    );
    console.log(
      `  psql COPY (SELECT * FROM t) TO STDOUT > /dev/null (reference) ${fmt(median(copy))} rows/s  (${spread(copy)})`,
    );
    // What walstream's reading in key order costs the server by itself, without walstream: the ceiling of the ratio.
    console.log(
      `  psql COPY (SELECT * FROM t ORDER BY pk) (server's key order)    ${fmt(median(ordered))} rows/s  (${spread(ordered)})  ${(median(ordered) / median(copy)).toFixed(2)}x COPY`,
    );
    console.log(
      `  walstream initial snapshot -> Pipeline -> no-op                ${fmt(median(ws))} rows/s  (${spread(ws)})  ${ratio.toFixed(2)}x COPY`,
    );
    // CPU per row survives a loaded machine better than rows/s (the child's whole process, startup included).
    console.log(`  walstream peak RSS ${Math.round(rss)} MB; CPU ${median(cpu).toFixed(2)} us/row (median)`);
    console.log(
      `  target >= 0.8x COPY: ${ratio >= 0.8 ? 'met' : 'NOT met'}; target peak RSS <= 150 MB: ${rss <= 150 ? 'met' : 'NOT met'}`,
    );
    return { name: 'snapshot', walstream: median(ws), copy: median(copy), peakRssMb: rss };
  } finally {
    await cluster.stop();
  }
}

if (process.argv[2] === 'child') {
  const stop = await allocSampling(process.env.BENCH_ALLOC, 'snapshot');
  await child(process.argv[3], process.argv[4]);
  await stop();
} else if (import.meta.url === `file://${process.argv[1]}`) await run();
