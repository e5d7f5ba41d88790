// NATS per-event mode: the walstream sink against a bare nats.js loop publishing the same MessagePack payloads
// with the same Msg-Ids and the same ack waiting (every PubAck of a 500-message batch awaited). The sink also
// sets a Content-Type header, the bare loop none: the reference does a little less work than the sink.
// Target: the sink >= 0.9x the bare loop.
import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { encodeEventMsgpack } from '@walstream/core';
import { makeTransactions } from '@walstream/core/testing';
import { createNatsSink } from '@walstream/sink-nats';
import { ensureServices } from '@walstream/testkit';

const EVENTS = Number(process.env.BENCH_NATS_EVENTS ?? 100_000);
const BATCH = 500;

export async function run() {
  await ensureServices(['nats']);
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const tag = createHash('sha1').update(String(Date.now())).digest('hex').slice(0, 8);
  const events = makeTransactions({
    transactions: EVENTS / 10,
    eventsPerTransaction: 10,
    row: (n) => ({ id: n, status: 'paid', amount: '19.90' }),
  }).filter((i) => i.kind === undefined);
  const batches = [];
  for (let i = 0; i < events.length; i += BATCH) {
    batches.push({
      seq: batches.length + 1,
      events: events.slice(i, i + BATCH),
      commits: [],
      schemaChanges: [],
      bytes: 0,
    });
  }
  const fresh = async (name, prefix) => {
    await jsm.streams.delete(name).catch(() => {});
    await jsm.streams.add({ name, subjects: [`${prefix}.>`], storage: 'memory' });
  };

  async function bare(prefix) {
    await fresh(`B${tag}`, prefix);
    const t0 = process.hrtime.bigint();
    for (const b of batches) {
      await Promise.all(
        b.events.map((e) => js.publish(`${prefix}.${e.table}.insert`, encodeEventMsgpack(e), { msgID: e.id })),
      );
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }

  async function sink(prefix) {
    await fresh(`S${tag}`, prefix);
    const s = createNatsSink({
      servers: '127.0.0.1:4222',
      subject: `${prefix}.{table}.{operation}`,
      schemaBucket: false,
    });
    await s.open();
    const signal = new AbortController().signal;
    const t0 = process.hrtime.bigint();
    for (const b of batches) await s.write(b, { signal });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await s.close();
    return secs;
  }

  // Each round times both back to back; the median of the per-round ratios is robust to a noisy neighbour.
  const ROUNDS = 5;
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const b = await bare(`b${tag}${r}`);
    const s = await sink(`s${tag}${r}`);
    rounds.push({ b, s, ratio: b / s });
  }
  rounds.sort((x, y) => x.ratio - y.ratio);
  const median = rounds[Math.floor(ROUNDS / 2)];
  const bareBest = median.b;
  const sinkBest = median.s;
  await jsm.streams.delete(`B${tag}`).catch(() => {});
  await jsm.streams.delete(`S${tag}`).catch(() => {});
  await nc.close();
  const rate = (s) => EVENTS / s;
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
  console.log(
    `nats per-event: ${EVENTS.toLocaleString('en-US')} events in batches of ${BATCH}, memory stream, median of ${ROUNDS} paired rounds (ratios ${rounds.map((r) => r.ratio.toFixed(2)).join(' ')})`,
  );
  console.log(`  bare nats.js loop (reference)   ${fmt(rate(bareBest))} events/s`);
  console.log(
    `  walstream NATS sink             ${fmt(rate(sinkBest))} events/s   (${(bareBest / sinkBest).toFixed(2)}x bare loop)`,
  );
  console.log(`  target >= 0.9x: ${bareBest / sinkBest >= 0.9 ? 'met' : 'NOT met'}`);
  return { name: 'nats', sink: rate(sinkBest), bare: rate(bareBest) };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
