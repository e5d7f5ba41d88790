// Soak (FAULTS.md F30, the long form; packages/faults/long/soak.test.ts is the scaled, kill-heavy form):
// small transactions at a steady rate into a private PostgreSQL cluster for BENCH_SOAK_SECONDS, read by one
// walstream child process (reader -> Pipeline, default options -> three sinks):
//   a recording sink (testkit createRecordingSink: every delivery on disk, for the oracles O1-O5),
//   the NATS sink (event mode, its default) into a fresh FILE-storage stream on the machine's nats-server,
//   the Postgres apply sink into a fresh database on the machine's PG at 5432 (WALSTREAM_BENCH_PG to change): a
//   second server with its own round trips and acknowledgements, and a target that verifyTables can compare
//   row for row (a file sink would only grow a file; its acks cost an fdatasync and nothing else).
// The workload is the fault suite's generator (testkit createWorkload), BENCH_SOAK_CLIENTS of them, each on its
// own table and connection, paced to BENCH_SOAK_TPS transactions/s in all (the rate achieved is printed).
// Every 30 s (BENCH_SOAK_REPORT_S) and at the end: the child's RSS (now and peak), heap used (with
// BENCH_SOAK_LIVE_HEAP=1 also the live heap after a forced full collection), event-loop delay
// p99 (monitorEventLoopDelay), end-to-end latency p50/p99 (the event's commit timestamp to the moment the
// recording sink is handed it), and the slot's lag in bytes (pg_current_wal_lsn - confirmed_flush_lsn).
// Pass criteria, after a warm-up (BENCH_SOAK_WARMUP_S, default a fifth of the run, at most 60 s):
//   RSS bounded: the peak of the last third of the load <= 1.1x the peak of the first third;
//   p99 latency <= BENCH_SOAK_SLO_MS (default 1000) over every event committed after the warm-up;
//   lag bounded: the slot's peak lag in the last third <= 1.5x the first third's (the reader confirms every 10 s,
//     so the lag is a sawtooth of about 10 s of WAL; a growing backlog shows as growing peaks);
//   O1-O5 over the recording sink once the workload stopped and the pipeline caught up, plus the apply target
//   equal to the source (verifyTables) and the stream holding one message per event. The process exits 1 when
//   one of these fails; the RSS, latency and lag criteria are printed as met / NOT met.
// BENCH_SOAK_TPS (default 2000; on this shared 2-core machine, load 6-9, the generator reached about 1,450: it
// makes five round trips a transaction, and it and both Postgres servers share the cores with the pipeline), BENCH_SOAK_SECONDS
// (default 300), BENCH_SOAK_CLIENTS (default 8), BENCH_SOAK_ROWS_PER_TX (default 2), BENCH_SOAK_KEYS (distinct
// keys per table, default 10000), BENCH_SOAK_PG (15 or 18, default 15).
// The oracles hold every delivery in memory and readDeliveries reads the recording as one string (V8 caps strings
// at 512 MiB, ~2M deliveries): an hour at 10k tx/s needs the oracles to stream, which they do not yet.
// Opt-in only: BENCH=soak node --expose-gc run.mjs, or node soak.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300);
const TPS = Number(process.env.BENCH_SOAK_TPS ?? 2000);
const CLIENTS = Number(process.env.BENCH_SOAK_CLIENTS ?? 8);
const ROWS_PER_TX = Number(process.env.BENCH_SOAK_ROWS_PER_TX ?? 2);
const KEYS = Number(process.env.BENCH_SOAK_KEYS ?? 10_000);
const REPORT_S = Number(process.env.BENCH_SOAK_REPORT_S ?? 30);
const WARMUP_S = Number(process.env.BENCH_SOAK_WARMUP_S ?? Math.min(60, Math.round(SECONDS / 5)));
const SLO_MS = Number(process.env.BENCH_SOAK_SLO_MS ?? 1000);
// The apply sink's transactionsPerCommit (its default is 1). The machine's PG commits with fdatasync
// (synchronous_commit on): one target commit per source transaction held the sink at about 1,000 rows/s here, the
// target's fsync rate, not walstream's. Groups never span writes, so this adds no latency.
const APPLY_TPC = Number(process.env.BENCH_SOAK_APPLY_TPC ?? 100);
const LIVE_HEAP = process.env.BENCH_SOAK_LIVE_HEAP === '1';
const PG_VERSION = Number(process.env.BENCH_SOAK_PG ?? 15);
const TARGET_PG = process.env.WALSTREAM_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS = '127.0.0.1:4222';
// After the workload stops, how long the pipeline may take to deliver the rest before the run counts as failed.
const DRAIN_TIMEOUT_MS = 10 * 60_000;

const mb = (x) => `${Math.round(x / 2 ** 20)} MB`;
const ms = (x) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
const num = (x) => Math.round(x).toLocaleString('en-US');

async function sql(url, text, params) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

const withDb = (url, db) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

// ---- child: reader -> Pipeline -> three sinks, measured in its own process -------------------------------------

/**
 * Commit time of an event in epoch milliseconds, with the microseconds Date.parse drops (the reader's timestamps
 * carry six fraction digits).
 */
function commitMs(ts) {
  const base = Date.parse(ts);
  const m = /\.\d{3}(\d{1,3})/.exec(ts);
  return m ? base + Number(m[1].padEnd(3, '0')) / 1000 : base;
}

async function child({ url, slot, publication, subject, target, applyTpc, recording, warmupS, reportS }) {
  const { createPipeline } = await import('@walstream/core');
  const { createPostgresReader } = await import('@walstream/reader-postgres');
  const { createNatsSink } = await import('@walstream/sink-nats');
  const { createPostgresSink } = await import('@walstream/sink-postgres');
  const { createRecordingSink } = await import('@walstream/testkit');
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

  const eld = monitorEventLoopDelay({ resolution: 10 });
  const eldAll = monitorEventLoopDelay({ resolution: 10 });
  // Latency in microseconds: per report interval, and over every event committed after the warm-up.
  const lat = createHistogram();
  const latSteady = createHistogram();
  let t0 = 0;
  const rec = createRecordingSink({ name: 'rec', path: recording, run: 1 });
  const timed = {
    name: 'rec',
    async write(batch, opts) {
      const now = performance.timeOrigin + performance.now();
      const steadyFrom = t0 + warmupS * 1000;
      for (const e of batch.events) {
        const c = commitMs(e.timestamp);
        const us = Math.max(1, Math.round((now - c) * 1000));
        lat.record(us);
        if (c >= steadyFrom) latSteady.record(us);
      }
      await rec.write(batch, opts);
    },
  };
  const reader = createPostgresReader({ connectionString: url, slot, publication });
  const sinks = [
    timed,
    // Default options but the subject (this run's own stream) and no schema bucket (a shared server).
    createNatsSink({ servers: NATS, subject: `${subject}.{table}.{operation}`, schemaBucket: false }),
    createPostgresSink({ connectionString: target, createTables: true, transactionsPerCommit: applyTpc }),
  ];
  const pipeline = createPipeline({ name: 'soak', reader, sinks });
  pipeline.done.catch(() => {});
  await pipeline.start();
  t0 = Date.now();
  eld.enable();
  eldAll.enable();

  // RSS sampled every 200 ms; the parent gets each second's maximum (the thirds are judged on those).
  const perSecond = [];
  let secMax = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    secMax = Math.max(secMax, process.memoryUsage.rss());
    if (++samples % 5 === 0) {
      perSecond.push(secMax);
      secMax = 0;
    }
  }, 200);
  let sent = 0;
  const tick = (type) => {
    const m = process.memoryUsage();
    // BENCH_SOAK_LIVE_HEAP=1: the live heap, what a full collection leaves. Heap used grows between collections
    // even without a leak; a growing live heap is one. Not by default: a forced collection shrinks the heap and so
    // the RSS after it (in a 60 s run RSS went from 219 MB before one to 174 MB), which would flatter the RSS criterion.
    if (LIVE_HEAP) globalThis.gc();
    const heapLive = LIVE_HEAP ? process.memoryUsage().heapUsed : null;
    const s = pipeline.status();
    out({
      type,
      t: (Date.now() - t0) / 1000,
      rss: m.rss,
      peakRss: process.resourceUsage().maxRSS * 1024,
      heapUsed: m.heapUsed,
      heapLive,
      eldP99: eld.percentile(99) / 1e6,
      latP50: lat.count ? lat.percentile(50) / 1000 : null,
      latP99: lat.count ? lat.percentile(99) / 1000 : null,
      latMax: lat.count ? lat.max / 1000 : null,
      events: lat.count,
      eventsOut: s.sinks.map((k) => k.eventsOut),
      queued: s.sinks.map((k) => k.queuedBatches),
      rssPerSecond: perSecond.slice(sent),
    });
    sent = perSecond.length;
    eld.reset();
    lat.reset();
  };
  const ticker = setInterval(() => tick('tick'), reportS * 1000);
  out({ type: 'ready' });

  // The parent writes one line when the workload has stopped: how many events every sink must hold.
  const { drain } = await new Promise((resolve) => {
    createInterface({ input: process.stdin }).once('line', (l) => resolve(JSON.parse(l)));
  });
  const caughtUp = new Promise((resolve) => {
    const check = () => {
      if (pipeline.status().sinks.every((k) => k.eventsOut >= drain)) resolve(true);
    };
    check();
    pipeline.on('committed', check);
  });
  const timeout = new Promise((resolve) => setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS).unref());
  const ok = await Promise.race([
    caughtUp,
    timeout,
    pipeline.done.then(
      () => false,
      () => false,
    ),
  ]);
  const drainedAt = (Date.now() - t0) / 1000;
  clearInterval(ticker);
  clearInterval(sampler);
  tick('last');
  let error = null;
  await pipeline.stop();
  await pipeline.done.catch((e) => {
    error = String(e?.message ?? e);
  });
  out({
    type: 'end',
    ok,
    error,
    drainedAt,
    peakRss: process.resourceUsage().maxRSS * 1024,
    eldP99: eldAll.percentile(99) / 1e6,
    eldMax: eldAll.max / 1e6,
    latSteady: latSteady.count
      ? {
          count: latSteady.count,
          p50: latSteady.percentile(50) / 1000,
          p99: latSteady.percentile(99) / 1000,
          max: latSteady.max / 1000,
        }
      : null,
    eventsOut: pipeline.status().sinks.map((k) => k.eventsOut),
    cpu: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  });
}

// ---- parent ----------------------------------------------------------------------------------------------------

async function natsStream(action, name, subject) {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: NATS });
  try {
    const jsm = await jetstreamManager(nc);
    if (action === 'create') {
      await jsm.streams.delete(name).catch(() => {});
      await jsm.streams.add({ name, subjects: [`${subject}.>`], storage: 'file' });
    } else if (action === 'count') {
      return (await jsm.streams.info(name)).state.messages;
    } else await jsm.streams.delete(name).catch(() => {});
  } finally {
    await nc.close();
  }
}

/** Workload drivers: each paces its own workload to `perClient` tx/s; falls behind rather than bursting. */
function drive(workloads, perClient, rowsPerTx, keys) {
  let running = true;
  const interval = 1000 / perClient;
  const loops = workloads.map(async (w) => {
    let next = performance.now();
    while (running) {
      const ids = new Set();
      while (ids.size < rowsPerTx) ids.add(1 + Math.floor(Math.random() * keys));
      await w.tx([...ids]);
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // More than a second behind: the machine cannot keep this rate; do not try to make it up in a burst.
      else if (wait < -1000) next = performance.now();
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

const peakIn = (series, from, to) => {
  let p = 0;
  for (const { t, v } of series) if (t >= from && t < to) p = Math.max(p, v);
  return p;
};

export async function run() {
  const testkit = await import('@walstream/testkit');
  const { ensureServices, startPostgres, createWorkload, readDeliveries, slotConfirmedLsn } = testkit;
  await ensureServices(['nats']);
  const tag = Math.random().toString(36).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), 'walstream-soak-'));
  const recording = join(dir, 'rec.jsonl');
  const targetDb = `soak_${tag}`;
  const subject = `soak${tag}`;
  const stream = subject.toUpperCase();
  const projected = TPS * SECONDS * ROWS_PER_TX;
  if (projected > 2_000_000)
    console.error(`soak: ~${num(projected)} deliveries expected; over ~2M the oracle step may not fit (see header)`);

  const cluster = await startPostgres({ version: PG_VERSION });
  const url = cluster.connectionString;
  const target = withDb(TARGET_PG, targetDb);
  const workloads = [];
  let result;
  let childProc;
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const w = await createWorkload({ connectionString: url, table: `w${i}` });
      await w.createTable();
      workloads.push(w);
    }
    await sql(url, `CREATE PUBLICATION soak_pub FOR TABLE ${workloads.map((w) => w.table).join(', ')}`);
    await sql(url, `SELECT pg_create_logical_replication_slot('soak', 'pgoutput')`);
    await sql(TARGET_PG, `CREATE DATABASE ${targetDb}`);
    await natsStream('create', stream, subject);

    const args = { url, slot: 'soak', publication: 'soak_pub', subject, target, recording, warmupS: WARMUP_S };
    args.reportS = REPORT_S;
    args.applyTpc = APPLY_TPC;
    childProc = spawn(
      process.execPath,
      [...(LIVE_HEAP ? ['--expose-gc'] : []), fileURLToPath(import.meta.url), '--child', JSON.stringify(args)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines = createInterface({ input: childProc.stdout });
    const rssSeries = [];
    const lagSeries = [];
    let end = null;
    let ready;
    const readyP = new Promise((r) => {
      ready = r;
    });
    const exited = new Promise((r) => childProc.on('exit', (code) => r(code)));

    console.log(
      `soak: PostgreSQL ${PG_VERSION} -> walstream (one process, default options) -> recording sink, NATS ${NATS} (file storage, event mode), Postgres apply (${new URL(TARGET_PG).host}, transactionsPerCommit ${APPLY_TPC})`,
    );
    console.log(
      `  workload: ${CLIENTS} clients x ${ROWS_PER_TX}-row transactions on ${num(KEYS)} keys each, target ${num(TPS)} tx/s for ${SECONDS} s; warm-up ${WARMUP_S} s, report every ${REPORT_S} s, latency SLO p99 <= ${SLO_MS} ms`,
    );

    // Slot lag, every second, from the parent (the server's view: what the slot holds back).
    const { default: pg } = await import('pg');
    const lagClient = new pg.Client({ connectionString: url });
    await lagClient.connect();
    let loadStart = 0;
    let committedAtTick = 0;
    let lastTickT = 0;
    const committedNow = () => workloads.reduce((n, w) => n + w.committed.length, 0);
    // Rows committed so far: against each sink's eventsOut, it shows which sink holds the backlog.
    const rowsNow = () => workloads.reduce((n, w) => n + w.committed.reduce((k, tx) => k + tx.rows.length, 0), 0);
    const lagNow = async () =>
      Number(
        (
          await lagClient.query(
            `SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name = 'soak'`,
          )
        ).rows[0].b,
      );
    let lagBusy = false;
    const lagTimer = setInterval(async () => {
      if (lagBusy || loadStart === 0) return;
      lagBusy = true;
      try {
        lagSeries.push({ t: (Date.now() - loadStart) / 1000, v: await lagNow() });
      } catch {
      } finally {
        lagBusy = false;
      }
    }, 1000);

    lines.on('line', (l) => {
      let m;
      try {
        m = JSON.parse(l);
      } catch {
        return console.error(`soak child: ${l}`);
      }
      if (m.type === 'ready') return ready();
      if (m.type === 'end') {
        end = m;
        return;
      }
      const first = rssSeries.length;
      m.rssPerSecond.forEach((v, i) => {
        rssSeries.push({ t: first + i, v });
      });
      const c = committedNow();
      const txs = (c - committedAtTick) / Math.max(0.001, m.t - lastTickT);
      committedAtTick = c;
      lastTickT = m.t;
      const recentLag = lagSeries.filter((x) => x.t > m.t - REPORT_S && x.t <= m.t + 1);
      const lag = recentLag.at(-1)?.v ?? 0;
      const lagMax = Math.max(0, ...recentLag.map((x) => x.v));
      console.log(
        `  ${`${Math.round(m.t)} s`.padStart(6)}${m.type === 'last' ? ' (end)' : '      '}  ${(m.type === 'last' ? '-' : num(txs)).padStart(6)} tx/s  RSS ${mb(m.rss).padStart(6)} (peak ${mb(m.peakRss)})  heap ${mb(m.heapUsed).padStart(6)}${m.heapLive === null ? '' : ` (live ${mb(m.heapLive)})`}  eld p99 ${ms(m.eldP99).padStart(7)}  latency p50 ${m.latP50 === null ? '-' : ms(m.latP50)} p99 ${m.latP99 === null ? '-' : ms(m.latP99)}  slot lag ${mb(lag)} (max ${mb(lagMax)})  out rec/nats/pg ${m.eventsOut.map(num).join('/')} of ${num(rowsNow())}`,
      );
    });

    await Promise.race([readyP, exited.then((c) => Promise.reject(new Error(`soak child exited ${c} at start`)))]);
    loadStart = Date.now();
    const stopLoad = drive(workloads, TPS / CLIENTS, ROWS_PER_TX, KEYS);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    await stopLoad();
    const loadSecs = (Date.now() - loadStart) / 1000;
    const txTotal = committedNow();
    const rows = workloads.reduce((n, w) => n + w.committed.reduce((k, tx) => k + tx.rows.length, 0), 0);
    const lagAtStop = await lagNow();
    childProc.stdin.write(`${JSON.stringify({ drain: rows })}\n`);
    const code = await exited;
    clearInterval(lagTimer);
    await lagClient.end();
    if (end === null) throw new Error(`soak child exited ${code} without its summary`);

    // ---- checks after the catch-up ----
    const confirmed = await slotConfirmedLsn(url, 'soak');
    const ends = [{ run: 1, confirmed }];
    const checks = [];
    const check = async (name, fn) => {
      try {
        checks.push({ name, ok: true, note: await fn() });
      } catch (e) {
        checks.push({ name, ok: false, note: String(e?.message ?? e).slice(0, 600) });
      }
    };
    await check('pipeline caught up', () => {
      if (!end.ok) throw new Error(`sinks hold ${end.eventsOut.join('/')} of ${rows} events; ${end.error ?? ''}`);
      return `${num(rows)} events in every sink ${Math.max(0, end.drainedAt - loadSecs).toFixed(1)} s after the load`;
    });
    const deliveries = await readDeliveries(recording);
    await check('O1 every committed change delivered', () => {
      let n = 0;
      for (const w of workloads) {
        const mine = deliveries.filter((d) => d.table === w.table);
        n += testkit.assertEveryChangeDelivered(w.versions(), mine, 'rec').versions;
      }
      return `${num(n)} versions`;
    });
    await check('O2 duplicates only after an ack', () => {
      const { duplicates } = testkit.assertDuplicatesOnlyAfterAck(deliveries, ends, 'rec');
      return `${duplicates} duplicates`;
    });
    await check('O3 per-key order', () => {
      testkit.assertPerKeyOrder(deliveries, 'rec');
      return `${num(deliveries.length)} deliveries`;
    });
    await check('O4 target equals source', async () => {
      let n = 0;
      for (const w of workloads) n += (await testkit.assertTargetEqualsSource(url, w.table, deliveries, 'rec')).rows;
      return `${num(n)} rows`;
    });
    await check('O5 confirmed never ahead', () => {
      const { checkedEvents } = testkit.assertConfirmedNeverAhead(deliveries, ends, ['rec']);
      return `${num(checkedEvents)} events below the confirmed position`;
    });
    await check('apply target equals source (verifyTables)', async () => {
      const { verifyTables } = await import('@walstream/sink-postgres');
      const r = await verifyTables({ source: url, target, tables: workloads.map((w) => w.table) });
      if (!r.equal) throw new Error(JSON.stringify(r.tables).slice(0, 400));
      return `${workloads.length} tables`;
    });
    await check('NATS stream holds one message per event', async () => {
      const n = await natsStream('count', stream, subject);
      if (n !== rows) throw new Error(`${n} messages for ${rows} events`);
      return `${num(n)} messages`;
    });

    // ---- criteria ----
    const span = SECONDS - WARMUP_S;
    const firstThird = [WARMUP_S, WARMUP_S + span / 3];
    const lastThird = [SECONDS - span / 3, SECONDS + 1];
    const rssFirst = peakIn(rssSeries, ...firstThird);
    const rssLast = peakIn(rssSeries, ...lastThird);
    const rssMiddle = peakIn(rssSeries, firstThird[1], lastThird[0]);
    const lagFirst = peakIn(lagSeries, ...firstThird);
    const lagLast = peakIn(lagSeries, ...lastThird);
    const s = end.latSteady;
    console.log(
      `  load: ${num(txTotal)} transactions, ${num(rows)} rows in ${loadSecs.toFixed(0)} s: ${num(txTotal / loadSecs)} tx/s achieved (target ${num(TPS)}), ${num(rows / loadSecs)} rows/s`,
    );
    console.log(
      `  walstream: peak RSS ${mb(end.peakRss)}, eld p99 ${ms(end.eldP99)} (max ${ms(end.eldMax)}), CPU ${end.cpu.toFixed(1)} s (${((end.cpu / rows) * 1e5).toFixed(2)} s/100k rows); slot lag when the load stopped ${mb(lagAtStop)}`,
    );
    console.log(
      s
        ? `  latency after warm-up (${num(s.count)} events): p50 ${ms(s.p50)} p99 ${ms(s.p99)} max ${ms(s.max)}`
        : '  latency after warm-up: no events',
    );
    const crit = (label, ok) => console.log(`  ${label}: ${ok ? 'met' : 'NOT met'}`);
    crit(
      `RSS bounded (peak of the last third ${mb(rssLast)} <= 1.1x the first third's ${mb(rssFirst)}; middle third ${mb(rssMiddle)}, sampled every 200 ms)`,
      rssFirst > 0 && rssLast <= 1.1 * rssFirst,
    );
    crit(`p99 latency <= ${SLO_MS} ms`, s !== null && s.p99 <= SLO_MS);
    crit(
      `lag bounded (peak slot lag of the last third ${mb(lagLast)} <= 1.5x the first third's ${mb(lagFirst)})`,
      lagFirst > 0 && lagLast <= 1.5 * lagFirst,
    );
    for (const c of checks) console.log(`  ${c.name}: ${c.ok ? 'holds' : 'FAILS'} (${c.note})`);
    if (checks.some((c) => !c.ok)) process.exitCode = 1;
    result = {
      name: 'soak',
      txPerSec: txTotal / loadSecs,
      peakRss: end.peakRss,
      latencyP99: s?.p99 ?? null,
      oraclesHold: checks.every((c) => c.ok),
    };
  } finally {
    if (childProc && childProc.exitCode === null) childProc.kill('SIGKILL');
    for (const w of workloads) await w.close().catch(() => {});
    await natsStream('delete', stream, subject).catch(() => {});
    await cluster.stop();
    await sql(TARGET_PG, `DROP DATABASE IF EXISTS ${targetDb} WITH (FORCE)`).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
