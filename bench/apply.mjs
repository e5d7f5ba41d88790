// SQL apply: the walstream MySQL and Postgres sinks against bare driver loops writing the same rows, as
// multi-row INSERTs of the same size (512 rows) in transactions of the same size (one source transaction of 512
// rows each). The sinks also upsert (ON DUPLICATE KEY / ON CONFLICT) and write their checkpoint row in every
// transaction; the bare loops do neither. MariaDB: the machine's server, a fresh database. Postgres: the
// machine's PG at 5432 (WALSTREAM_BENCH_PG to change), a fresh database. Target: each sink >= 0.8x its loop.
import { createHash } from 'node:crypto';
import { silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';
import { createMySqlSink } from '@walstream/sink-mysql';
import { createPostgresSink } from '@walstream/sink-postgres';
import mysql from 'mysql2/promise';
import pg from 'pg';

const ROWS = Number(process.env.BENCH_APPLY_ROWS ?? 51_200);
const TXN = 512;
const ROUNDS = Number(process.env.BENCH_APPLY_ROUNDS ?? 5);
const MYSQL = process.env.WALSTREAM_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306/test';
const PG = process.env.WALSTREAM_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function workload() {
  const batches = [];
  for (let t = 0; t < ROWS / TXN; t++) {
    const lsn = 0x1000n + BigInt(t) * 0x100n;
    const events = [];
    for (let i = 0; i < TXN; i++) {
      const id = BigInt(t * TXN + i + 1);
      const after = { id, status: i % 3 ? 'paid' : 'pending', amount: `${(i % 997) + 0.99}`, note: `order ${id}` };
      events.push(makeEvent({ lsn, index: i, table: 'bench_orders', after, key: { id } }));
    }
    batches.push({ seq: t + 1, events, commits: [commitOf(lsn, TXN)], schemaChanges: [], bytes: 0 });
  }
  return batches;
}
const rowValues = (e) => [e.after.id.toString(), e.after.status, e.after.amount, e.after.note];

async function mysqlSide(batches, tag) {
  const admin = await mysql.createConnection({ uri: MYSQL });
  const name = `bench_apply_${tag}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = MYSQL.replace(/\/[^/]*$/, `/${name}`);
  const c = await mysql.createConnection({ uri: url });
  const ddl =
    'CREATE TABLE bench_orders (id BIGINT PRIMARY KEY, status VARCHAR(20), amount DECIMAL(10,2), note LONGTEXT)';
  const insert = `INSERT INTO bench_orders (id, status, amount, note) VALUES ${Array(TXN).fill('(?,?,?,?)').join(',')}`;
  return {
    label: 'MariaDB',
    async reset() {
      await c.query('DROP TABLE IF EXISTS bench_orders');
      await c.query('DROP TABLE IF EXISTS walstream_checkpoints');
      await c.query(ddl);
    },
    async bare() {
      const t0 = process.hrtime.bigint();
      for (const b of batches) {
        await c.query('START TRANSACTION');
        await c.execute(insert, b.events.flatMap(rowValues));
        await c.query('COMMIT');
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    sink: () => createMySqlSink({ connectionString: url, maxRowsPerStatement: TXN }),
    async drop() {
      await c.end();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    },
  };
}

async function pgSide(batches, tag) {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const name = `bench_apply_${tag}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = PG.replace(/\/[^/]*$/, `/${name}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let n = 0;
  const tuples = Array.from({ length: TXN }, () => `($${++n},$${++n},$${++n},$${++n})`).join(',');
  const insert = { name: 'bench_insert', text: `INSERT INTO bench_orders (id, status, amount, note) VALUES ${tuples}` };
  return {
    label: 'Postgres',
    async reset() {
      await c.query('DROP TABLE IF EXISTS bench_orders; DROP TABLE IF EXISTS walstream_checkpoints');
      await c.query(
        'CREATE TABLE bench_orders (id bigint PRIMARY KEY, status varchar(20), amount numeric(10,2), note text)',
      );
    },
    async bare() {
      const t0 = process.hrtime.bigint();
      for (const b of batches) {
        await c.query('BEGIN');
        await c.query({ ...insert, values: b.events.flatMap(rowValues) });
        await c.query('COMMIT');
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    sink: () => createPostgresSink({ connectionString: url, maxRowsPerStatement: TXN }),
    async drop() {
      await c.end();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    },
  };
}

async function timeSink(side, batches, round) {
  const s = side.sink();
  await s.open({ pipeline: `bench${round}`, logger: silentLogger, signal: new AbortController().signal });
  const signal = new AbortController().signal;
  const t0 = process.hrtime.bigint();
  for (const b of batches) await s.write(b, { signal });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await s.close();
  return secs;
}

export async function run() {
  const batches = workload();
  const tag = createHash('sha1').update(`${process.pid}${Date.now()}`).digest('hex').slice(0, 8);
  const out = [];
  for (const make of [mysqlSide, pgSide]) {
    const side = await make(batches, tag);
    const rounds = [];
    try {
      // Alternate which goes first, so neither always meets the server after the other's purge work.
      for (let r = 0; r < ROUNDS; r++) {
        let b = 0;
        let s = 0;
        for (const which of r % 2 === 0 ? ['bare', 'sink'] : ['sink', 'bare']) {
          await side.reset();
          if (which === 'bare') b = await side.bare();
          else s = await timeSink(side, batches, r);
        }
        rounds.push({ b, s, ratio: b / s });
      }
    } finally {
      await side.drop();
    }
    rounds.sort((x, y) => x.ratio - y.ratio);
    const m = rounds[Math.floor(rounds.length / 2)];
    out.push({ label: side.label, rounds, median: m });
  }
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
  console.log(
    `sql apply: ${ROWS.toLocaleString('en-US')} rows, ${TXN}-row transactions and statements, median of ${ROUNDS} paired rounds; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
  );
  for (const o of out) {
    const ratio = o.median.b / o.median.s;
    console.log(
      `  ${o.label.padEnd(8)} bare driver loop ${fmt(ROWS / o.median.b)} rows/s | walstream sink ${fmt(ROWS / o.median.s)} rows/s = ${ratio.toFixed(2)}x (ratios ${o.rounds.map((r) => r.ratio.toFixed(2)).join(' ')}) target >= 0.8x: ${ratio >= 0.8 ? 'met' : 'NOT met'}`,
    );
  }
  return out.map((o) => ({ name: `apply-${o.label.toLowerCase()}`, sink: ROWS / o.median.s, bare: ROWS / o.median.b }));
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
