// Child process: reads one large transaction through a Pipeline into a no-op sink and reports its peak RSS.
// argv: url slot protocolVersion expectedEvents
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, proto, expected] = process.argv.slice(2) as [string, string, string, string];
let maxRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 20);
let seen = 0;
const reader = createPostgresReader({
  connectionString: url,
  slot,
  publication: 'big_pub',
  protocolVersion: Number(proto) as 1 | 2,
});
const pipeline = createPipeline({
  name: 'large',
  reader,
  sinks: [
    {
      name: 'noop',
      async write(batch) {
        seen += batch.events.length;
        if (seen >= Number(expected)) setImmediate(() => void pipeline.stop());
      },
    },
  ],
});
await pipeline.start();
await pipeline.done;
clearInterval(sampler);
const s = reader.status();
process.stdout.write(
  `${JSON.stringify({ events: seen, maxRssMb: Math.round(maxRss / 2 ** 20), streamed: s.streamedTransactions, spilled: s.spilledTransactions })}\n`,
);
