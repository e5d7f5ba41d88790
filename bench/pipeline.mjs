// Pipeline overhead: array reader -> Pipeline -> no-op sink, against the bare cost of iterating the same
// reader (the floor any consumer pays). Target: >= 1,000,000 events/s, so the pipeline is never the bottleneck.
import { createPipeline } from '@walstream/core';
import { createArrayReader, makeTransactions } from '@walstream/core/testing';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PER_TXN = 10;
const ROUNDS = 3;

const items = makeTransactions({
  transactions: EVENTS / PER_TXN,
  eventsPerTransaction: PER_TXN,
  row: (n) => ({ id: n, status: 'completed', amount: '299.99' }),
});

async function bare() {
  let n = 0;
  for await (const item of createArrayReader(items).read()) if (item.kind === undefined) n++;
  return n;
}

async function pipeline() {
  let n = 0;
  const sink = {
    name: 'noop',
    async write(batch) {
      n += batch.events.length;
    },
  };
  const p = createPipeline({ name: 'bench', reader: createArrayReader(items), sinks: [sink] });
  await p.start();
  await p.done;
  return n;
}

async function measure(fn) {
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    const n = await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n !== EVENTS) throw new Error(`expected ${EVENTS} events, got ${n}`);
    best = Math.max(best, n / s);
  }
  return best;
}

export async function run() {
  const ref = await measure(bare);
  const got = await measure(pipeline);
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(12);
  console.log(`pipeline: ${EVENTS.toLocaleString('en-US')} events, best of ${ROUNDS}`);
  console.log(`  reference (bare for-await over the reader) ${fmt(ref)} events/s`);
  console.log(
    `  walstream Pipeline -> no-op sink           ${fmt(got)} events/s   (${(got / ref).toFixed(2)}x reference)`,
  );
  console.log(`  target >= 1,000,000 events/s: ${got >= 1_000_000 ? 'met' : 'NOT met'}`);
  return { name: 'pipeline', eventsPerSecond: got, reference: ref };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
