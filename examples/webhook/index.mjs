// A receiver on a local port verifies each POST; the pipeline sends three transactions, the first attempt of
// which the receiver refuses with 503 to show the retry carrying the same webhook-id.
// Run: pnpm --filter @walstream/example-webhook start
import { createServer } from 'node:http';
import { createPipeline } from '@walstream/core';
import { createArrayReader, makeTransactions } from '@walstream/core/testing';
import { createWebhookSink, verifyWebhook } from '@walstream/sink-webhook';

const secret = `whsec_${Buffer.from('example secret').toString('base64')}`;
let first = true;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (first) {
      first = false;
      console.log(`receiver: 503 for ${req.headers['webhook-id']}`);
      return res.writeHead(503).end();
    }
    const payload = verifyWebhook(body, req.headers, secret); // throws if the signature is wrong
    console.log(`receiver: ${req.headers['webhook-id']} verified, ${payload.events.length} events`);
    res.writeHead(204).end();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const pipeline = createPipeline({
  name: 'webhook-example',
  reader: createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2 })),
  sinks: [createWebhookSink({ url: `http://127.0.0.1:${server.address().port}/hook`, secret })],
  retry: { initialDelayMs: 50 },
});
await pipeline.start();
await pipeline.done;
console.log(`confirmed up to ${pipeline.status().committed.lsn.toString(16)}`);
server.close();
