/**
 * The sink contract of @walstream/core/testing against a local HTTP receiver, in both modes, with a real partial
 * write: the receiver accepts the next request and refuses the one after it (requests hold at most two events here,
 * so a batch of the suite's transactions takes several).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type ChangeEvent, eventFromJsonObject } from '@walstream/core';
import { describeSinkContract } from '@walstream/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createWebhookSink, verifyWebhook } from '../src/index.js';

const SECRET = `whsec_${Buffer.from('contract secret').toString('base64')}`;
const accepted: string[] = [];
const script: number[] = [];
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    const status = script.shift() ?? 200;
    if (status < 300) {
      verifyWebhook(body, req.headers as Record<string, string>, SECRET);
      accepted.push(body);
    }
    res.writeHead(status).end();
  });
});
beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function readBack(): Promise<ChangeEvent[]> {
  return Promise.resolve(
    accepted.flatMap((body) => {
      const parsed = JSON.parse(body);
      return parsed.events ? parsed.events.map(eventFromJsonObject) : [eventFromJsonObject(parsed)];
    }),
  );
}

for (const mode of ['batch', 'event'] as const) {
  describeSinkContract(
    `webhook ${mode}`,
    async () => {
      accepted.length = 0;
      script.length = 0;
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
      return {
        sink: createWebhookSink({ url, secret: SECRET, mode, maxEventsPerRequest: 2 }),
        readBack,
        faults: {
          failNextWritePartway() {
            script.push(200, 500);
          },
        },
      };
    },
    { idempotent: false },
  );
}
