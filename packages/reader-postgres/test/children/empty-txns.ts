// Child process: a pipeline whose only sink stalls on its first batch while the reader goes through many
// transactions without events (heartbeats). Reports RSS when the stall began and its peak until the reader has
// received everything, then lets the sink go and waits for the slot to pass the end.
// argv: url slot endLsn
import { createPipeline, parseLsn } from '@walstream/core';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, endText] = process.argv.slice(2) as [string, string, string];
const end = parseLsn(endText);
const reader = createPostgresReader({
  connectionString: url,
  slot,
  publication: 'empty_pub',
  heartbeat: { intervalMs: 3_600_000 }, // walstream's heartbeat prefix, never delivered as events
  statusIntervalMs: 100,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let result: Record<string, number> = {};
let first = true;
const pipeline = createPipeline({
  name: 'empty',
  reader,
  sinks: [
    {
      name: 'stalled',
      async write() {
        if (!first) return;
        first = false;
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const started = Date.now();
        for (;;) {
          peak = Math.max(peak, process.memoryUsage().rss);
          const s = reader.status();
          if (s.receivedLsn !== null && parseLsn(s.receivedLsn) >= end && s.queuedBytes === 0) break;
          if (Date.now() - started > 180_000) {
            result.timedOut = 1; // the reader stopped short (e.g. the pipeline's queue filled with checkpoints)
            break;
          }
          await sleep(20);
        }
        result = {
          ...result,
          baselineMb: Math.round(baseline / 2 ** 20),
          peakMb: Math.round(peak / 2 ** 20),
          pendingTransactions: reader.status().pendingTransactions,
        };
      },
    },
  ],
  batch: { maxWaitMs: 0 },
});
await pipeline.start();
const waitFrom = Date.now();
for (;;) {
  const c = reader.status().confirmedLsn;
  if (c !== null && parseLsn(c) >= end) break;
  if (Date.now() - waitFrom > 60_000) {
    result.confirmTimedOut = 1;
    break;
  }
  await sleep(50);
}
await pipeline.stop();
process.stdout.write(`${JSON.stringify(result)}\n`);
