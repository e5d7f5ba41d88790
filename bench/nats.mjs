// NATS end to end: PostgreSQL 15 -> walstream -> the machine's nats-server, FILE-storage streams, default options.
// Rows of about 220 bytes are written in 100-row transactions first; then, interleaved, in each round:
//   pg_recvlogical on its own slot over the same WAL (the walsender's ceiling: no decoding, output to /dev/null),
//   walstream reader -> Pipeline -> NATS sink, batch mode (target >= 0.8x pg_recvlogical and >= 60k rows/s),
//   a bare nats.js loop: the same message count with Msg-Ids, every PubAck awaited, at most 1000 in flight,
//   walstream reader -> Pipeline -> NATS sink, event mode (target >= 0.9x the bare loop).
// Every run is its own child process, so peak RSS and event-loop delay (monitorEventLoopDelay p99) are its own.
// BENCH_NATS_ROWS (default 100000), BENCH_NATS_ROUNDS (default 3), BENCH_NATS_CATCHUP=1 (1M rows, 1 round),
// BENCH_NATS_PROF=<dir> writes a --cpu-prof profile of every walstream child there; BENCH_NATS_MEMTRACE=1 prints
// heap, buffers, in-flight bytes and queues of every walstream child every 500 ms (stderr).
// The numbers are only as quiet as the machine: compare the ratios of one run, not absolute figures across runs.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { allocSampling } from './alloc-sampling.mjs';

const CATCHUP = process.env.BENCH_NATS_CATCHUP === '1';
const ROWS = Number(process.env.BENCH_NATS_ROWS ?? (CATCHUP ? 1_000_000 : 100_000));
const ROUNDS = Number(process.env.BENCH_NATS_ROUNDS ?? (CATCHUP ? 1 : 3));
const PER_TXN = 100;
const SERVER = '127.0.0.1:4222';
const WINDOW = 1000;
// Not a default: for measuring how the pipeline's in-flight budget drives peak RSS (printed when set).
const INFLIGHT_MB = process.env.BENCH_NATS_INFLIGHT_MB ? Number(process.env.BENCH_NATS_INFLIGHT_MB) : undefined;
// Likewise for the NATS sink's PubAck window (maxPendingAcks).
const ACKS = process.env.BENCH_NATS_ACKS ? Number(process.env.BENCH_NATS_ACKS) : undefined;
// Likewise for the reader's read-ahead (maxQueueBytes).
const QUEUE_MB = process.env.BENCH_NATS_QUEUE_MB ? Number(process.env.BENCH_NATS_QUEUE_MB) : undefined;
// BENCH_NATS_KINDS=recv,batch picks some (while developing); BENCH_NATS_NOOP=1 adds reader -> no-op sink.
const KINDS = (process.env.BENCH_NATS_KINDS?.split(',') ?? ['recv', 'batch', 'bare', 'event']).concat(
  process.env.BENCH_NATS_NOOP === '1' ? ['noop'] : [],
);

async function sql(url, text) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Peak RSS of a child we cannot instrument: VmHWM from /proc while it runs. */
function watchPeak(pid) {
  let peak = 0;
  const t = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {}
  }, 20);
  return () => {
    clearInterval(t);
    return peak;
  };
}

/** CPU seconds of a process (utime + stime), with its reaped children's (cutime + cstime) when `children`. */
function procCpu(pid, children) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Fields from state (3rd in stat): utime 14, stime 15, cutime 16, cstime 17 -> indexes 11..14 here.
    const t = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return t / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/** nats-server's pid, found by othersCpu's scan of /proc. */
let natsPid = 0;

/**
 * CPU seconds so far of the other processes on the path: the cluster (postmaster, its live children, and, through
 * the postmaster's cutime, the walsenders that exited) and nats-server. Diffed around a run, it says what the
 * machine spent beside walstream: on 2 cores, walstream can only go as fast as the cores left to it.
 */
function othersCpu(cluster) {
  const pm = Number(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let pgCpu = procCpu(pm, true);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = st.split(') ')[1].split(' ');
      if (Number(rest[1]) === pm) pgCpu += procCpu(Number(d), false);
      else if (st.includes('(nats-server)')) natsPid = Number(d);
    } catch {}
  }
  return { pg: pgCpu, nats: natsPid ? procCpu(natsPid, false) : 0 };
}

function timeRecvlogical(cluster, slot, endLsn) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(cluster.binDir, 'pg_recvlogical'),
      // biome-ignore format: one option per pair reads better
      ['-d', cluster.connectionString, '-U', 'postgres', '--slot', slot, '--start', '--endpos', endLsn, '-f', '/dev/null',
        '-o', 'proto_version=1', '-o', 'publication_names=bench_pub', '-F', '0', '-s', '1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const peak = watchPeak(child.pid);
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => {
      const rss = peak();
      if (code !== 0) return reject(new Error(`pg_recvlogical exited ${code}: ${err}`));
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, cpu: null, rss, eldP99: null });
    });
  });
}

/** Runs one measurement in a fresh node process (this file with --child) and returns what it printed. */
function runChild(args, profDir) {
  const self = fileURLToPath(import.meta.url);
  // BENCH_NATS_NODE_ARGS: extra node flags for the measured processes (e.g. --max-old-space-size=64).
  const extra = process.env.BENCH_NATS_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const node = [
    ...extra,
    ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
    self,
    '--child',
    JSON.stringify(args),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, node, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => {
      // BENCH_NATS_CHILD_OUT=<file>: everything the children printed (e.g. with BENCH_NATS_NODE_ARGS=--trace-gc).
      if (process.env.BENCH_NATS_CHILD_OUT) appendFileSync(process.env.BENCH_NATS_CHILD_OUT, `# ${args.kind}\n${out}`);
      if (code !== 0) return reject(new Error(`${args.kind} child exited ${code}: ${out}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

async function freshStream(name, subject) {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: SERVER });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(name).catch(() => {});
  await jsm.streams.add({ name, subjects: [`${subject}.>`], storage: 'file' });
  await nc.close();
}

async function deleteStream(name) {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: SERVER });
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => {});
  await nc.close();
}

// ---- children ------------------------------------------------------------------------------------------------

async function childWalstream({ kind, url, slot, subject, rows }) {
  const { createPipeline } = await import('@walstream/core');
  const { createPostgresReader } = await import('@walstream/reader-postgres');
  const { createNatsSink } = await import('@walstream/sink-nats');
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const stalls = stallTrace(t0, () => pipeline?.status().sinks[0].eventsOut ?? -1);
  let pipeline;
  const reader = createPostgresReader({
    connectionString: url,
    slot,
    publication: 'bench_pub',
    ...(QUEUE_MB ? { maxQueueBytes: Math.round(QUEUE_MB * 2 ** 20) } : {}),
  });
  // Default options but the subject (this run's own stream) and no schema bucket (a shared server).
  const sink =
    kind === 'noop'
      ? { name: 'noop', async write() {} }
      : createNatsSink({
          servers: SERVER,
          mode: kind,
          subject: `${subject}.{table}.{operation}`,
          schemaBucket: false,
          ...(ACKS ? { maxPendingAcks: ACKS } : {}),
        });
  pipeline = createPipeline({
    name: `bench-${kind}`,
    reader,
    sinks: [sink],
    ...(INFLIGHT_MB ? { maxInFlightBytes: Math.round(INFLIGHT_MB * 2 ** 20) } : {}),
  });
  // When the first events were committed: start-up (connections, slot, types, cold code) apart from the rest.
  let firstMs = null;
  const all = new Promise((resolve) => {
    pipeline.on('committed', () => {
      firstMs ??= Number(process.hrtime.bigint() - t0) / 1e6;
      if (pipeline.status().sinks[0].eventsOut >= rows) resolve();
    });
  });
  await pipeline.start();
  // BENCH_NATS_MEMTRACE=1: where the memory is, every 500 ms on stderr (heap, buffers, queues).
  const trace =
    process.env.BENCH_NATS_MEMTRACE === '1' ? setInterval(() => memTrace(pipeline, reader, sink), 500) : null;
  await Promise.race([all, pipeline.done]);
  if (trace !== null) clearInterval(trace);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const got = pipeline.status().sinks[0].eventsOut;
  await pipeline.stop();
  eld.disable();
  stalls();
  if (got < rows) throw new Error(`${kind}: pipeline ended after ${got} of ${rows} events`);
  return {
    secs,
    cpu: cpuSecs(cpu0),
    rss: process.resourceUsage().maxRSS * 1024,
    eldP99: eld.percentile(99) / 1e6,
    firstMs,
  };
}

/**
 * BENCH_NATS_STALLS=1: every turn of the event loop that kept a 1 ms timer waiting 30 ms or more, with when it
 * ended (ms since the start) and how many events were out then (stderr): what monitorEventLoopDelay's p99 is made of.
 */
function stallTrace(t0, out) {
  if (process.env.BENCH_NATS_STALLS !== '1') return () => {};
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    if (now - last >= 30) {
      const at = Number(process.hrtime.bigint() - t0) / 1e6;
      console.error(`stall ${Math.round(now - last)} ms ending at ${Math.round(at)} ms, events out ${out()}`);
    }
    last = now;
  }, 1);
  return () => clearInterval(t);
}

function memTrace(pipeline, reader, sink) {
  // With BENCH_NATS_NODE_ARGS=--expose-gc: the heap after a full collection, i.e. what is really alive.
  globalThis.gc?.();
  const m = process.memoryUsage();
  const mb = (x) => Math.round(x / 2 ** 20);
  const p = pipeline.status();
  const r = reader.status();
  const nc = sink.connection;
  // nats.js internals (not API): its outbound buffer and the socket's unsent bytes; "0+0" when absent.
  const out = `${mb(nc?.protocol?.outbound?.size?.() ?? 0)}+${mb(nc?.protocol?.transport?.socket?.writableLength ?? 0)}`;
  const spaces = v8
    .getHeapSpaceStatistics()
    .filter((x) => x.space_size > 2 ** 20)
    .map((x) => `${x.space_name.replace('_space', '')} ${mb(x.space_used_size)}/${mb(x.space_size)}`)
    .join(' ');
  console.error(
    `rss ${mb(m.rss)} heap (${spaces}) ${mb(m.heapUsed)}/${mb(m.heapTotal)} ext ${mb(m.external)} ab ${mb(m.arrayBuffers)} | inflight ${mb(p.inFlightBytes)} queued ${p.sinks[0].queuedBatches} out ${p.sinks[0].eventsOut} | reader q ${mb(r.queuedBytes)} paused ${r.paused} | nats out ${out}`,
  );
}

/** CPU seconds (user + system) of this process since `from`: steadier than wall time on a busy machine. */
function cpuSecs(from) {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
}

async function childBare({ subject, rows }) {
  const { jetstream } = await import('@nats-io/jetstream');
  const { connect, headers } = await import('@nats-io/transport-node');
  const { encodeEventMsgpack } = await import('@walstream/core');
  // Payloads shaped like the table's events (same columns and sizes), encoded before timing: the client's limit.
  const distinct = Math.min(rows, 10_000);
  const payloads = [];
  for (let i = 0; i < distinct; i++) {
    const id = i + 1;
    payloads.push(
      encodeEventMsgpack({
        id: `0/${(0x1000000 + i).toString(16).toUpperCase()}:${i % PER_TXN}`,
        position: { lsn: BigInt(0x1000000 + i), index: i % PER_TXN },
        operation: 'INSERT',
        timestamp: '2026-11-27T11:00:00.123+00:00',
        transactionId: String(800 + i),
        database: 'postgres',
        schema: 'public',
        table: 'orders',
        key: { id },
        before: null,
        after: {
          id,
          customer: `customer ${id}`,
          status: 'paid',
          amount: `${id % 1000}.99`,
          created: '2026-11-27 11:00:00.123456+00',
          note: 'n'.repeat(150),
        },
        unchanged: [],
      }),
    );
  }
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  // noAsyncTraces: without it nats.js builds two Error objects per publish; the sink sets it too.
  const nc = await connect({ servers: SERVER, noAsyncTraces: true });
  const js = jetstream(nc);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const acks = new Array(WINDOW);
  for (let i = 0; i < rows; i++) {
    const slot = i % WINDOW;
    if (i >= WINDOW) await acks[slot];
    const h = headers();
    h.set('Content-Type', 'application/msgpack');
    acks[slot] = js.publish(`${subject}.orders.insert`, payloads[i % distinct], {
      msgID: `0/${(0x2000000 + Math.floor(i / PER_TXN)).toString(16).toUpperCase()}:${i % PER_TXN}`,
      headers: h,
    });
  }
  await Promise.all(acks);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSecs(cpu0);
  await nc.close();
  eld.disable();
  return { secs, cpu, rss: process.resourceUsage().maxRSS * 1024, eldP99: eld.percentile(99) / 1e6 };
}

// ---- parent ----------------------------------------------------------------------------------------------------

export async function run() {
  const { ensureServices, startPostgres } = await import('@walstream/testkit');
  await ensureServices(['nats']);
  const cluster = await startPostgres({ version: 15 });
  const tag = Math.random().toString(36).slice(2, 8);
  const streams = [];
  try {
    const url = cluster.connectionString;
    await sql(
      url,
      'CREATE TABLE orders (id int PRIMARY KEY, customer text, status text, amount numeric(10,2), created timestamptz, note text)',
    );
    await sql(url, 'CREATE PUBLICATION bench_pub FOR TABLE orders');
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of ['recv', 'batch', 'event', 'noop'])
        await sql(url, `SELECT pg_create_logical_replication_slot('bench_${k}${r}', 'pgoutput')`);
    }
    // About 220 bytes a row on disk: 24-byte tuple header, five short columns and a 150-character note.
    await sql(
      url,
      `DO $$ BEGIN FOR t IN 0..${ROWS / PER_TXN - 1} LOOP
      INSERT INTO orders SELECT g, 'customer ' || g, 'paid', g % 1000 + 0.99, now(), repeat('n', 150)
        FROM generate_series(t * ${PER_TXN} + 1, (t + 1) * ${PER_TXN}) g; COMMIT; END LOOP; END $$`,
    );
    const endLsn = (await sql(url, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
    const prof = process.env.BENCH_NATS_PROF;
    const results = Object.fromEntries(['recv', 'batch', 'bare', 'event', 'noop'].map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order, so no one always runs first (or right after the file store grew).
      const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]);
      for (const kind of order) {
        let res;
        const before = othersCpu(cluster);
        if (kind === 'recv') res = await timeRecvlogical(cluster, `bench_recv${r}`, endLsn);
        else {
          const subject = `benchnats${tag}${kind}${r}`;
          const stream = subject.toUpperCase();
          streams.push(stream);
          await freshStream(stream, subject);
          const args = { kind, url, slot: `bench_${kind}${r}`, subject, rows: ROWS };
          res = await runChild(args, kind === 'bare' ? undefined : prof);
          await deleteStream(stream);
        }
        // Let the walsender exit and be reaped, so the postmaster's cutime holds its CPU.
        await new Promise((r) => setTimeout(r, 300));
        const after = othersCpu(cluster);
        res.pgCpu = after.pg - before.pg;
        res.natsCpu = after.nats - before.nats;
        results[kind].push(res);
      }
    }
    report(results);
    const med = (k) => (results[k].length > 0 ? median(results[k].map((x) => ROWS / x.secs)) : null);
    return {
      name: 'nats',
      rows: ROWS,
      event: med('event'),
      bare: med('bare'),
      batch: med('batch'),
      pgRecvlogical: med('recv'),
    };
  } finally {
    for (const s of streams) await deleteStream(s);
    await cluster.stop();
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function report(results) {
  const rate = (k) => results[k].map((x) => ROWS / x.secs);
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
  const spread = (xs) => `${fmt(Math.min(...xs)).trim()}-${fmt(Math.max(...xs)).trim()}`;
  // The highest of the rounds, each round's in brackets when there are several.
  const mb = (k) => {
    const all = results[k].map((x) => Math.round(x.rss / 2 ** 20));
    return `${Math.max(...all)} MB${all.length > 1 ? ` [${all.join(',')}]` : ''}`;
  };
  const eld = (k) =>
    results[k][0].eldP99 === null ? '' : `eld p99 ${Math.max(...results[k].map((x) => x.eldP99)).toFixed(0)} ms`;
  const cpu = (k) =>
    results[k][0].cpu === null ? '' : `cpu ${(median(results[k].map((x) => x.cpu)) / (ROWS / 1e5)).toFixed(2)} s/100k`;
  const others = (k) =>
    `pg ${(median(results[k].map((x) => x.pgCpu)) / (ROWS / 1e5)).toFixed(2)} nats ${(median(results[k].map((x) => x.natsCpu)) / (ROWS / 1e5)).toFixed(2)} s/100k`;
  const first = (k) =>
    results[k][0].firstMs == null ? '' : `first ${median(results[k].map((x) => x.firstMs)).toFixed(0)} ms`;
  const line = (label, k, ref) => {
    const r = median(rate(k));
    const ratio = ref
      ? `  ${(r / median(rate(ref))).toFixed(2)}x ${ref === 'bare' ? 'bare loop' : 'pg_recvlogical'}`
      : '';
    console.log(
      `  ${label.padEnd(44)}${fmt(r)} rows/s  (${spread(rate(k))})  peak RSS ${mb(k).padEnd(18)}  ${eld(k).padEnd(16)}${first(k).padEnd(15)}${cpu(k).padEnd(18)}${others(k).padEnd(26)}${ratio}`,
    );
  };
  console.log(
    `nats e2e: ${ROWS.toLocaleString('en-US')} rows (~220 B) in ${PER_TXN}-row transactions, PostgreSQL 15 -> nats-server ${SERVER}, file storage, ${INFLIGHT_MB ? `maxInFlightBytes ${INFLIGHT_MB} MiB, ` : ''}${QUEUE_MB ? `maxQueueBytes ${QUEUE_MB} MiB, ` : ''}${INFLIGHT_MB || QUEUE_MB ? 'otherwise ' : ''}default options; median (min-max) of ${ROUNDS} interleaved round(s)`,
  );
  const has = (k) => results[k].length > 0;
  if (has('recv')) line('pg_recvlogical (reference, no decoding)', 'recv');
  if (has('batch')) line('walstream NATS batch mode', 'batch', has('recv') && 'recv');
  if (has('bare')) line(`bare nats.js loop (reference, window ${WINDOW})`, 'bare');
  if (has('event')) line('walstream NATS event mode', 'event', has('bare') && 'bare');
  if (has('noop')) line('walstream reader -> Pipeline -> no-op sink', 'noop', has('recv') && 'recv');
  if (has('event') && has('bare')) {
    const ev = median(rate('event')) / median(rate('bare'));
    console.log(`  target event >= 0.9x bare loop: ${ev >= 0.9 ? 'met' : 'NOT met'}`);
  }
  if (has('batch') && has('recv')) {
    const ba = median(rate('batch')) / median(rate('recv'));
    const ok = ba >= 0.8 && median(rate('batch')) >= 60_000;
    console.log(`  target batch >= 0.8x pg_recvlogical and >= 60k rows/s: ${ok ? 'met' : 'NOT met'}`);
  }
  // What the machine has: walstream's CPU plus Postgres' and nats-server's, per 100k rows, against the cores.
  if (has('batch')) {
    const perRow = (k, f) => median(results[k].map(f)) / ROWS;
    const all = perRow('batch', (x) => x.cpu + x.pgCpu + x.natsCpu);
    const cores = availableParallelism();
    console.log(
      `  batch mode spent ${(all * 1e5).toFixed(2)} CPU s/100k rows in all (walstream + Postgres + nats-server): on ${cores} cores at most ${Math.round(cores / all).toLocaleString('en-US')} rows/s`,
    );
  }
  const peak = Math.max(0, ...['batch', 'event'].flatMap((k) => results[k].map((x) => x.rss)));
  console.log(`  peak RSS of walstream ${Math.round(peak / 2 ** 20)} MB (target <= 120 MB in a 1M-row catch-up)`);
}

if (process.argv[2] === '--child') {
  const args = JSON.parse(process.argv[3]);
  // BENCH_NATS_ALLOC=<dir>: an allocation profile of every child; BENCH_NATS_ALLOC_OLD=1 keeps only what was promoted.
  const stopAlloc = await allocSampling(process.env.BENCH_NATS_ALLOC, args.kind, {
    promotedOnly: process.env.BENCH_NATS_ALLOC_OLD === '1',
  });
  const res = args.kind === 'bare' ? await childBare(args) : await childWalstream(args);
  await stopAlloc();
  console.log(JSON.stringify(res));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
