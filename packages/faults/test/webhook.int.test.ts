/**
 * B12 webhook timeout after processing: the receiver takes each request in (it processed it) but, for a while,
 * answers only after the sink's timeout, so the sink sees failures and sends again. Pass: every retry carries the
 * same webhook-id and the same events (the receiver can drop it), nothing of that transaction is confirmed to the
 * slot while its request had no 2xx (no silent checkpoint), and in the end every committed change arrived (O1).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createWebhookSink } from '@walstream/sink-webhook';
import { slotConfirmedLsn } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario } from './harness.js';

interface Received {
  id: string;
  body: string;
  events: { id: string; position: { lsn: string }; after: { id: number; seq: number } | null }[];
}

const text = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let b = '';
    req.on('data', (d) => {
      b += d;
    });
    req.on('end', () => resolve(b));
  });

const pgLsn = (t: string) => {
  const [hi, lo] = t.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

it('B12 webhook timeout after processing: same webhook-id and body on the retry, no confirmation before a 2xx', async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const received: Received[] = [];
  // Until released, every request is processed but answered only after the client gave up (its timeout: 300 ms).
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const server = createServer(async (req, res) => {
    const body = await text(req);
    received.push({ id: String(req.headers['webhook-id']), body, events: JSON.parse(body).events });
    await released;
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const pipeline = createPipeline({
    name: 'b12',
    reader: createPostgresReader({
      connectionString: s.url,
      slot: s.slot,
      publication: s.publication,
      statusIntervalMs: 50,
    }),
    sinks: [
      {
        sink: createWebhookSink({
          url: `http://127.0.0.1:${port}/hook`,
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
          timeoutMs: 300,
        }),
        retry: { maxAttempts: 20, initialDelayMs: 50, maxDelayMs: 200 },
      },
    ],
    batch: { maxWaitMs: 5 },
  });
  try {
    await pipeline.start();
    await s.workload.tx([1, 2, 3]);
    // A few timed-out attempts, and many status updates (50 ms): a confirmation would have reached the slot.
    for (let i = 0; i < 300 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const confirmedDuringHang = await slotConfirmedLsn(s.url, s.slot);
    release();
    for (let i = 0; i < 20; i++) await s.workload.tx([10 + i, 40 + i]);
    const want = s.workload.versions();
    const seen = () => new Set(received.flatMap((r) => r.events.map((e) => `${e.after?.id}:${e.after?.seq}`)));
    for (let i = 0; i < 300 && [...want].some((v) => !seen().has(v)); i++) await new Promise((r) => setTimeout(r, 50));
    // O1: every committed change reached the receiver.
    expect([...want].filter((v) => !seen().has(v))).toEqual([]);

    const [hung, retry, again] = received as [Received, Received, Received];
    expect(hung.events.map((e) => e.after?.id).sort()).toEqual([1, 2, 3]);
    expect([retry.id, again.id]).toEqual([hung.id, hung.id]);
    expect([retry.body, again.body]).toEqual([hung.body, hung.body]);
    // Every request sent twice was the same request (same id, same body).
    const byId = new Map<string, string>();
    for (const r of received) {
      expect(byId.get(r.id) ?? r.body).toBe(r.body);
      byId.set(r.id, r.body);
    }
    // No silent checkpoint: while the request had no 2xx, the slot stayed below that transaction.
    const commitLsn = pgLsn((hung.events[0] as Received['events'][0]).position.lsn);
    expect(confirmedDuringHang).toBeLessThanOrEqual(commitLsn);
    // Once answered, the slot moves past it.
    let after = 0n;
    for (let i = 0; i < 200 && after <= commitLsn; i++) {
      after = await slotConfirmedLsn(s.url, s.slot);
      if (after <= commitLsn) await new Promise((r) => setTimeout(r, 50));
    }
    expect(after).toBeGreaterThan(commitLsn);
  } finally {
    await pipeline.stop().catch(() => {});
    release();
    await new Promise((r) => server.close(r));
    await s.close();
  }
});
