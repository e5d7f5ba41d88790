/**
 * F32 one sink stuck, as the service runs it (`walstream run`): a webhook receiver takes requests in and never
 * answers. Pass: the other sink (a file) still gets the changes (the process is not stalled), the slot is not
 * confirmed past what the stuck sink lacks, /health stays 200 and /ready answers 503 "not ready" naming the
 * stuck sink once its write has been pending past the service's limit (60 s: why this runs in `npm run faults`);
 * when the receiver answers, /ready is 200 again and the slot moves on.
 */

import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createServiceLogger, parseConfig, startService } from '@walstream/cli';
import { parsePgLsn, slotConfirmedLsn } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from '../test/harness.js';

it('F32 one sink stuck: the LSN stalls, the other sink goes on, /ready says not ready, /health stays up', async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const held: ServerResponse[] = [];
  let answering = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => (answering ? res.writeHead(200).end() : held.push(res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const out = join(s.dir, 'file-sink.out');
  const cfg = parseConfig(
    `pipelines:
  - name: f32
    source:
      connectionString: ${s.url}
      slot: ${s.slot}
      publication: ${s.publication}
      statusIntervalMs: 100
    sinks:
      - file:
          path: ${out}
      - webhook:
          url: ${hook}
          secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
          timeoutMs: 600000
    batch: { maxWaitMs: 5 }
http:
  port: 0
`,
    'f32.yaml',
  );
  const logs: string[] = [];
  const logger = createServiceLogger(
    { level: 'warn', format: 'json' },
    { destination: { write: (l: string) => void logs.push(l) } },
  );
  const service = await startService(cfg, { logger });
  const base = service.http?.url as string;
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: (await r.json()) as { status?: string; problems?: string[] } };
  };
  try {
    // Whatever the slot confirms while the webhook is stuck stays at or below this (keepalives of the idle slot).
    const before = parsePgLsn((await sql(s.url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);
    for (let i = 0; i < 20; i++) await s.workload.tx([1 + i, 100 + i]);
    const want = s.workload.versions();
    const inFile = async () => {
      const text = await readFile(out, 'utf8').catch(() => '');
      return [...want].filter((v) => {
        const [id, seq] = v.split(':');
        return !text.includes(`"id":${id},"seq":${seq}`);
      });
    };
    // The file sink got everything while the webhook holds its first request.
    for (let i = 0; i < 200 && (await inFile()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await inFile()).toEqual([]);
    for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(held.length).toBe(1);
    // Not ready once the write has been pending past the limit; alive all along.
    let ready = await get('/ready');
    for (let i = 0; i < 200 && ready.status === 200; i++) {
      expect((await get('/health')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      ready = await get('/ready');
    }
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not ready');
    expect(ready.body.problems?.join()).toMatch(/f32\/webhook:127\.0\.0\.1:\d+: write pending/);
    expect((await get('/health')).status).toBe(200);
    // Nothing the webhook lacks was confirmed.
    expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThanOrEqual(before);
    // The receiver answers: ready again, and the slot moves on.
    answering = true;
    for (const res of held.splice(0)) res.writeHead(200).end();
    for (let i = 0; i < 200 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await get('/ready');
    }
    expect(ready).toEqual({ status: 200, body: { status: 'ready', problems: [] } });
    let after = 0n;
    for (let i = 0; i < 200 && after <= before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await slotConfirmedLsn(s.url, s.slot);
    }
    expect(after).toBeGreaterThan(before);
  } finally {
    answering = true;
    for (const res of held.splice(0)) res.writeHead(200).end();
    await service.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await s.close();
  }
});
