// SQL apply: the walstream MySQL and Postgres sinks against bare driver loops writing the same rows, as
// multi-row INSERTs of the same size (512 rows) in transactions of the same size (one source transaction of 512
// rows each; the sinks run with transactionsPerCommit 1, their default, so one target transaction per source
// transaction). Headline reference: a plain INSERT loop (BEGIN, INSERT, COMMIT, each awaited). Printed beside
// it: the same loop with the upsert a user would write for a replica (ON CONFLICT DO UPDATE / ON DUPLICATE KEY
// UPDATE). The sinks also write their checkpoint row in every transaction; the loops do not.
// The machine is shared, so the three contenders take turns every SLICE transactions (the order rotating), each
// into its own table of the same database: a burst of load from elsewhere hits all three alike. A round is all
// rows through each contender; the figures are the median round's, with every round's ratio beside them.
// MariaDB: the machine's server, a fresh database. Postgres: the machine's PG at 5432 (WALSTREAM_BENCH_PG to
// change), a fresh database. Target: each sink >= 0.8x its plain INSERT loop.
import { createHash } from 'node:crypto';
import { silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';
import { createMySqlSink } from '@walstream/sink-mysql';
import { createPostgresSink } from '@walstream/sink-postgres';
import mysql from 'mysql2/promise';
import pg from 'pg';

const ROWS = Number(process.env.BENCH_APPLY_ROWS ?? 51_200);
const TXN = 512;
const SLICE = 4;
const ROUNDS = Number(process.env.BENCH_APPLY_ROUNDS ?? 5);
const MYSQL = process.env.WALSTREAM_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306/test';
const PG = process.env.WALSTREAM_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** One source transaction of TXN new rows; `first` is the first id. */
function transaction(seq, lsn, first) {
  const events = [];
  for (let i = 0; i < TXN; i++) {
    const id = first + BigInt(i);
    const after = { id, status: i % 3 ? 'paid' : 'pending', amount: `${(i % 997) + 0.99}`, note: `order ${id}` };
    events.push(makeEvent({ lsn, index: i, table: 'bench_orders', after, key: { id } }));
  }
  return { seq, events, commits: [commitOf(lsn, TXN)], schemaChanges: [], bytes: 0 };
}

/**
 * Untimed, written by each contender before its timed rows (keys below them, a position before them): the
 * loops prepare their statement, the sink describes its table and prepares its statements, so the timing is of
 * steady work, as in a running pipeline. The sink's first write (describe + prepare) measured 8-28 ms here.
 */
export const warmup = transaction(0, 0x100n, -BigInt(TXN));

export function workload() {
  const batches = [];
  for (let t = 0; t < ROWS / TXN; t++)
    batches.push(transaction(t + 1, 0x1000n + BigInt(t) * 0x100n, BigInt(t * TXN + 1)));
  return batches;
}
const rowValues = (e) => [e.after.id.toString(), e.after.status, e.after.amount, e.after.note];

async function mysqlSide(tag) {
  const admin = await mysql.createConnection({ uri: MYSQL });
  const name = `bench_apply_${tag}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = MYSQL.replace(/\/[^/]*$/, `/${name}`);
  const c = await mysql.createConnection({ uri: url });
  const cols = '(id BIGINT PRIMARY KEY, status VARCHAR(20), amount DECIMAL(10,2), note LONGTEXT)';
  const values = `(id, status, amount, note) VALUES ${Array(TXN).fill('(?,?,?,?)').join(',')}`;
  const insert = `INSERT INTO bare_insert ${values}`;
  const upsert = `INSERT INTO bare_upsert ${values} ON DUPLICATE KEY UPDATE status = VALUES(status), amount = VALUES(amount), note = VALUES(note)`;
  const loop = (sql) => async (b) => {
    await c.query('START TRANSACTION');
    await c.execute(sql, b.events.flatMap(rowValues));
    await c.query('COMMIT');
  };
  return {
    label: 'MariaDB',
    async reset() {
      for (const t of ['bench_orders', 'bare_insert', 'bare_upsert', 'walstream_checkpoints']) {
        await c.query(`DROP TABLE IF EXISTS ${t}`);
      }
      for (const t of ['bench_orders', 'bare_insert', 'bare_upsert']) await c.query(`CREATE TABLE ${t} ${cols}`);
    },
    bare: loop(insert),
    upsert: loop(upsert),
    sink: () => createMySqlSink({ connectionString: url, maxRowsPerStatement: TXN }),
    async drop() {
      await c.end();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    },
  };
}

async function pgSide(tag) {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const name = `bench_apply_${tag}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = PG.replace(/\/[^/]*$/, `/${name}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let n = 0;
  const tuples = Array.from({ length: TXN }, () => `($${++n},$${++n},$${++n},$${++n})`).join(',');
  const insert = { name: 'bare_insert', text: `INSERT INTO bare_insert (id, status, amount, note) VALUES ${tuples}` };
  const upsert = {
    name: 'bare_upsert',
    text: `INSERT INTO bare_upsert (id, status, amount, note) VALUES ${tuples} ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, amount = EXCLUDED.amount, note = EXCLUDED.note`,
  };
  const loop = (q) => async (b) => {
    await c.query('BEGIN');
    await c.query({ ...q, values: b.events.flatMap(rowValues) });
    await c.query('COMMIT');
  };
  return {
    label: 'Postgres',
    async reset() {
      await c.query('DROP TABLE IF EXISTS bench_orders, bare_insert, bare_upsert, walstream_checkpoints');
      for (const t of ['bench_orders', 'bare_insert', 'bare_upsert']) {
        await c.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, status varchar(20), amount numeric(10,2), note text)`);
      }
    },
    bare: loop(insert),
    upsert: loop(upsert),
    sink: () => createPostgresSink({ connectionString: url, maxRowsPerStatement: TXN }),
    async drop() {
      await c.end();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    },
  };
}

/** The median of sorted numbers. */
const mid = (xs) => xs[Math.floor(xs.length / 2)];

export const sides = { mysql: mysqlSide, pg: pgSide };

/** The sink's write, shaped like the loops: one batch (one source transaction) at a time. */
export async function openSink(side, round) {
  const s = side.sink();
  await s.open({ pipeline: `bench${round}`, logger: silentLogger, signal: new AbortController().signal });
  const signal = new AbortController().signal;
  return { write: (b) => s.write(b, { signal }), close: () => s.close() };
}

/** One round: every batch through each contender, in turns of SLICE batches; seconds per contender. */
async function round(side, batches, r) {
  await side.reset();
  const sink = await openSink(side, r);
  const run = { bare: side.bare, upsert: side.upsert, sink: sink.write };
  for (const who of Object.keys(run)) await run[who](warmup);
  const secs = { bare: 0, upsert: 0, sink: 0 };
  const order = ['bare', 'upsert', 'sink'];
  try {
    for (let i = 0; i < batches.length; i += SLICE) {
      const slice = batches.slice(i, i + SLICE);
      order.push(order.shift());
      for (const who of order) {
        const t0 = process.hrtime.bigint();
        for (const b of slice) await run[who](b);
        secs[who] += Number(process.hrtime.bigint() - t0) / 1e9;
      }
    }
  } finally {
    await sink.close();
  }
  return secs;
}

export async function run() {
  const batches = workload();
  const tag = createHash('sha1').update(`${process.pid}${Date.now()}`).digest('hex').slice(0, 8);
  const out = [];
  const wanted = (process.env.BENCH_APPLY_SIDES ?? 'mysql,pg').split(',');
  for (const make of [mysqlSide, pgSide].filter((_, i) => wanted.includes(['mysql', 'pg'][i]))) {
    const side = await make(tag);
    const rounds = [];
    try {
      for (let r = 0; r < ROUNDS; r++) rounds.push(await round(side, batches, r));
    } finally {
      await side.drop();
    }
    const ratios = (ref) => rounds.map((x) => x[ref] / x.sink).sort((a, b) => a - b);
    // Rates printed are the median round's (by the ratio to the INSERT loop), so they match the ratio shown.
    const m = mid([...rounds].sort((x, y) => x.bare / x.sink - y.bare / y.sink));
    out.push({ label: side.label, bare: ROWS / m.bare, upsert: ROWS / m.upsert, sink: ROWS / m.sink, ratios });
  }
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
  const spread = (xs) => `${mid(xs).toFixed(2)}x (${xs[0].toFixed(2)}-${xs[xs.length - 1].toFixed(2)})`;
  console.log(
    `sql apply: ${ROWS.toLocaleString('en-US')} rows, ${TXN}-row transactions and statements, turns of ${SLICE} transactions, median round of ${ROUNDS} (ratio range over the rounds); peak RSS of the process (drivers and sinks) ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
  );
  for (const o of out) {
    const vsInsert = o.ratios('bare');
    console.log(
      `  ${o.label.padEnd(8)} bare INSERT loop ${fmt(o.bare)} rows/s | bare upsert loop ${fmt(o.upsert)} rows/s | walstream sink ${fmt(o.sink)} rows/s = ${spread(vsInsert)} of INSERT, ${spread(o.ratios('upsert'))} of upsert; target >= 0.8x of INSERT: ${mid(vsInsert) >= 0.8 ? 'met' : 'NOT met'}`,
    );
  }
  return out.map((o) => ({ name: `apply-${o.label.toLowerCase()}`, sink: o.sink, bare: o.bare }));
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
