// Realtime fan-out: events committed in Postgres reach 1,000 WebSocket clients of one @walstream/realtime instance
// (reader -> Pipeline -> server.sink -> Redis -> fan-out), against a bare `ws` broadcast loop sending the same
// frames to 1,000 clients of a plain WebSocketServer (no Postgres, no Redis, no auth, no masking: the ceiling).
// The clients run in a child process (this file with --clients), so server and clients do not share a core.
// Figures: events/s delivered to every client in a burst, and p99 latency of a paced stream (walstream: from the
// Postgres commit timestamp; bare loop: from the moment the loop sends). Target: walstream >= 0.8x the bare loop.
// BENCH_RT_CLIENTS (1000), BENCH_RT_EVENTS (burst, 1000), BENCH_RT_PACED (paced events, 200 at 50/s), BENCH_RT_ROUNDS (3).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

const CLIENTS = Number(process.env.BENCH_RT_CLIENTS ?? 1000);
const EVENTS = Number(process.env.BENCH_RT_EVENTS ?? 1000);
const PACED = Number(process.env.BENCH_RT_PACED ?? 200);
const RATE = 50;
const ROUNDS = Number(process.env.BENCH_RT_ROUNDS ?? 3);
const PROBES = 20;
const TOPIC = 'realtime:p1:bench';
const SECRET = 'walstream-bench-realtime-secret-0123456789';

// ---- the client side (child process) ----
async function clientsMain(url, count) {
  const sockets = [];
  let expected = Number.POSITIVE_INFINITY;
  let complete = 0;
  let latencies = [];
  const counts = new Array(count).fill(0);
  const onEvent = (i, data) => {
    if (i < PROBES) {
      const f = JSON.parse(data);
      latencies.push(Date.now() - Date.parse(f.payload.timestamp));
    }
    if (++counts[i] === expected) {
      complete++;
      if (complete === count) process.send({ done: true, latencies, rss: process.resourceUsage().maxRSS });
    }
  };
  let subscribed = 0;
  for (let i = 0; i < count; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(ws);
      ws.on('message', (d) => {
        const text = d.toString();
        if (text.startsWith('{"type":"event"')) onEvent(j, text);
        else if (text.includes('"subscribed"')) subscribed++;
      });
      batch.push(
        new Promise((resolve, reject) => {
          ws.once('open', () => {
            ws.send(JSON.stringify({ type: 'subscribe', topic: TOPIC }));
            resolve();
          });
          ws.once('error', reject);
        }),
      );
    }
    await Promise.all(batch);
  }
  while (subscribed < count) await new Promise((r) => setTimeout(r, 20));
  process.on('message', (m) => {
    if (m.expect !== undefined) {
      expected = m.expect;
      complete = 0;
      latencies = [];
      counts.fill(0);
      process.send({ armed: true });
    } else if (m.quit) {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
  process.send({ ready: true });
}

if (process.argv[2] === '--clients') {
  await clientsMain(process.argv[3], Number(process.argv[4]));
}

// ---- the server side ----
function startClients(url) {
  const child = fork(fileURLToPath(import.meta.url), ['--clients', url, String(CLIENTS)], { stdio: 'inherit' });
  const waiters = [];
  child.on('message', (m) => waiters.shift()?.(m));
  const next = () => new Promise((resolve) => waiters.push(resolve));
  return {
    ready: next(),
    /** Resets the counters; `armed` resolves once the child counts from zero, `done` once all got `n`. */
    arm(n) {
      let resolveDone;
      const done = new Promise((resolve, reject) => {
        resolveDone = resolve;
        // A client that misses an event would otherwise hang the run.
        setTimeout(
          () => reject(new Error(`clients did not all receive ${n} events within 10 minutes`)),
          600_000,
        ).unref();
      });
      const armed = new Promise((resolve) => {
        waiters.push((m) => {
          waiters.push(resolveDone);
          resolve(m);
        });
      });
      child.send({ expect: n });
      return { armed, done };
    },
    quit: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.send({ quit: true });
      }),
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function frameOf(id, timestamp) {
  const payload = `{"table":"public.bench","action":"INSERT","record":{"id":${id},"project_id":"p1","status":"paid","amount":"19.90","email":"[REDACTED]"},"timestamp":"${timestamp}"}`;
  return `{"type":"event","topic":"${TOPIC}","payload":${payload}}`;
}

async function bareRound() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', () => ws.send(`{"type":"subscribed","topic":"${TOPIC}"}`)));
  const clients = startClients(`ws://127.0.0.1:${wss.address().port}/`);
  await clients.ready;
  const broadcast = (id) => {
    const frame = frameOf(id, new Date().toISOString());
    for (const c of wss.clients) c.send(frame);
  };
  let phase = clients.arm(EVENTS);
  await phase.armed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    broadcast(i);
    if (i % 100 === 99) await new Promise(setImmediate);
  }
  await phase.done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  phase = clients.arm(PACED);
  await phase.armed;
  for (let i = 0; i < PACED; i++) {
    broadcast(i);
    await sleep(1000 / RATE);
  }
  const { latencies, rss } = await phase.done;
  await clients.quit();
  await new Promise((r) => wss.close(r));
  return { rate: EVENTS / secs, p50: pct(latencies, 50), p99: pct(latencies, 99), clientRss: rss };
}

async function walstreamSetup() {
  const { createPipeline } = await import('@walstream/core');
  const { createPostgresReader } = await import('@walstream/reader-postgres');
  const { createRealtimeServer } = await import('@walstream/realtime');
  const { ensureServices, startPostgres } = await import('@walstream/testkit');
  const { SignJWT } = await import('jose');
  const pg = (await import('pg')).default;
  await ensureServices(['redis']);
  const cluster = await startPostgres({ version: 18 });
  const db = new pg.Client({ connectionString: cluster.connectionString });
  await db.connect();
  await db.query(
    'CREATE TABLE bench (id serial PRIMARY KEY, project_id text NOT NULL, status text, amount numeric(10,2), email text)',
  );
  const server = createRealtimeServer({
    port: 0,
    host: '127.0.0.1',
    redis: 'redis://127.0.0.1:6379',
    channelPrefix: `bench-realtime-${randomBytes(6).toString('hex')}:`,
    auth: { secret: SECRET },
    maxConnections: CLIENTS + 10,
  });
  await server.ready;
  const pipeline = createPipeline({
    name: 'bench-realtime',
    reader: createPostgresReader({
      connectionString: cluster.connectionString,
      slot: 'bench_rt',
      publication: 'bench_rt',
      tables: ['bench'],
    }),
    sinks: [server.sink],
    batch: { maxWaitMs: 5 },
  });
  await pipeline.start();
  const token = await new SignJWT({ projects: ['p1'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
  return {
    url: `ws://127.0.0.1:${server.port}/realtime?token=${token}`,
    db,
    async stop() {
      await pipeline.stop();
      await server.close();
      await db.end();
      await cluster.stop();
    },
  };
}

async function walstreamRound(env) {
  const clients = startClients(env.url);
  await clients.ready;
  const insert = (n) =>
    env.db.query(
      `INSERT INTO bench (project_id, status, amount, email) SELECT 'p1', 'paid', 19.90, 'u' || g || '@example.org' FROM generate_series(1, ${n}) g`,
    );
  let phase = clients.arm(EVENTS);
  await phase.armed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i += 100) await insert(Math.min(100, EVENTS - i));
  await phase.done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  phase = clients.arm(PACED);
  await phase.armed;
  for (let i = 0; i < PACED; i++) {
    await insert(1);
    await sleep(1000 / RATE);
  }
  const { latencies, rss } = await phase.done;
  await clients.quit();
  return { rate: EVENTS / secs, p50: pct(latencies, 50), p99: pct(latencies, 99), clientRss: rss };
}

export async function run() {
  const env = await walstreamSetup();
  const rounds = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const b = await bareRound();
      const w = await walstreamRound(env);
      rounds.push({ b, w, ratio: w.rate / b.rate });
    }
  } finally {
    await env.stop();
  }
  rounds.sort((x, y) => x.ratio - y.ratio);
  const median = rounds[Math.floor(rounds.length / 2)];
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(8);
  const ms = (x) => `${Math.round(x)} ms`.padStart(7);
  const spread = (pick) => {
    const xs = rounds.map(pick);
    return `${fmt(Math.min(...xs)).trim()}..${fmt(Math.max(...xs)).trim()}`;
  };
  console.log(
    `realtime fan-out: ${CLIENTS.toLocaleString('en-US')} clients, burst of ${EVENTS.toLocaleString('en-US')} events, ${PACED} paced at ${RATE}/s; median of ${ROUNDS} paired rounds (ratios ${rounds.map((r) => r.ratio.toFixed(2)).join(' ')})`,
  );
  console.log(
    `  bare ws broadcast loop (reference) ${fmt(median.b.rate)} events/s to every client (spread ${spread((r) => r.b.rate)})   p50 ${ms(median.b.p50)}  p99 ${ms(median.b.p99)} send-to-client`,
  );
  console.log(
    `  walstream realtime (PG->Redis->ws) ${fmt(median.w.rate)} events/s to every client (spread ${spread((r) => r.w.rate)})   p50 ${ms(median.w.p50)}  p99 ${ms(median.w.p99)} commit-to-client   (${median.ratio.toFixed(2)}x bare loop)`,
  );
  console.log(
    `  peak RSS: server process ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB, client process ${Math.round(median.w.clientRss / 1024)} MiB`,
  );
  console.log(`  target >= 0.8x: ${median.ratio >= 0.8 ? 'met' : 'NOT met'}`);
  return { name: 'realtime', realtime: median.w.rate, bare: median.b.rate, p99Ms: median.w.p99 };
}

if (process.argv[2] !== '--clients' && import.meta.url === `file://${process.argv[1]}`) await run();
