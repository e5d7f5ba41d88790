// Catch-up: N rows are written first, then each consumer reads them from its own slot over the same WAL:
//   pg_recvlogical (the walsender's ceiling: no decoding, output to /dev/null),
//   walstream (reader -> Pipeline -> no-op sink, every value decoded),
//   pg-logical-replication (PgoutputPlugin, every message parsed).
// (NATS end to end, on a file-storage stream, is bench/nats.mjs.)
// Target: walstream >= 0.9x pg_recvlogical's rows/s.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { startPostgres } from '@walstream/testkit';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const PER_TXN = 100;
// Not a default: BENCH_QUEUE_MB sets the reader's read-ahead (maxQueueBytes), printed when set.
const QUEUE_MB = process.env.BENCH_QUEUE_MB ? Number(process.env.BENCH_QUEUE_MB) : undefined;

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function timeRecvlogical(cluster, slot, endLsn) {
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    const child = spawn(
      join(cluster.binDir, 'pg_recvlogical'),
      [
        '-d',
        cluster.connectionString,
        '-U',
        'postgres',
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
        'publication_names=bench_pub',
        '-F',
        '0',
        '-s',
        '1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_recvlogical exited ${code}: ${err}`))));
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function timeWalstream(url, slot, protocolVersion) {
  let seen = 0;
  const t0 = process.hrtime.bigint();
  const reader = createPostgresReader({
    connectionString: url,
    slot,
    publication: 'bench_pub',
    protocolVersion,
    ...(QUEUE_MB ? { maxQueueBytes: Math.round(QUEUE_MB * 2 ** 20) } : {}),
  });
  const pipeline = createPipeline({
    name: 'bench',
    reader,
    sinks: [
      {
        name: 'noop',
        async write(b) {
          seen += b.events.length;
          if (seen >= ROWS) setImmediate(() => void pipeline.stop());
        },
      },
    ],
  });
  await pipeline.start();
  await pipeline.done;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function timePgLogicalReplication(url, slot) {
  const service = new LogicalReplicationService(
    { connectionString: url },
    { acknowledge: { auto: true, timeoutSeconds: 10 } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['bench_pub'] });
  let seen = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    service.on('data', (_lsn, msg) => {
      if (msg.tag === 'insert' && ++seen === ROWS) resolve();
    });
    service.on('error', reject);
    service.subscribe(plugin, slot).catch(reject);
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await service.stop();
  return s;
}

export async function run() {
  const cluster = await startPostgres({ version: 15 });
  try {
    const url = cluster.connectionString;
    await sql(
      url,
      'CREATE TABLE orders (id int PRIMARY KEY, customer text, status text, amount numeric(10,2), created timestamptz)',
    );
    await sql(url, 'CREATE PUBLICATION bench_pub FOR TABLE orders');
    const ROUNDS = 2;
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of ['ws', 'recv', 'plr'])
        await sql(url, `SELECT pg_create_logical_replication_slot('bench_${s}${r}', 'pgoutput')`);
    }
    await sql(
      url,
      `DO $$ BEGIN FOR t IN 0..${ROWS / PER_TXN - 1} LOOP
      INSERT INTO orders SELECT g, 'customer ' || g, 'paid', g % 1000 + 0.99, now()
        FROM generate_series(t * ${PER_TXN} + 1, (t + 1) * ${PER_TXN}) g; COMMIT; END LOOP; END $$`,
    );
    const endLsn = (await sql(url, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;

    // Each consumer reads the same WAL from its own slot; the round runs twice (the first warms the walsender's
    // caches) and each keeps its best time.
    let recv = Number.POSITIVE_INFINITY;
    let ws = Number.POSITIVE_INFINITY;
    let plr = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ROUNDS; r++) {
      recv = Math.min(recv, await timeRecvlogical(cluster, `bench_recv${r}`, endLsn));
      ws = Math.min(ws, await timeWalstream(url, `bench_ws${r}`, 1));
      plr = Math.min(plr, await timePgLogicalReplication(url, `bench_plr${r}`));
    }
    const rate = (s) => ROWS / s;
    const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
    console.log(
      `catch-up: ${ROWS.toLocaleString('en-US')} rows in ${ROWS / PER_TXN} transactions, PostgreSQL 15, pgoutput protocol 1, best of ${ROUNDS}${QUEUE_MB ? `, maxQueueBytes ${QUEUE_MB} MiB` : ''}`,
    );
    console.log(`  pg_recvlogical (reference, no decoding)  ${fmt(rate(recv))} rows/s`);
    console.log(
      `  walstream reader -> Pipeline -> no-op    ${fmt(rate(ws))} rows/s   (${(rate(ws) / rate(recv)).toFixed(2)}x pg_recvlogical)`,
    );
    console.log(
      `  pg-logical-replication                   ${fmt(rate(plr))} rows/s   (${(rate(plr) / rate(recv)).toFixed(2)}x pg_recvlogical)`,
    );
    console.log(`  target walstream >= 0.9x pg_recvlogical: ${rate(ws) / rate(recv) >= 0.9 ? 'met' : 'NOT met'}`);
    return {
      name: 'catchup',
      walstream: rate(ws),
      pgRecvlogical: rate(recv),
      pgLogicalReplication: rate(plr),
    };
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
