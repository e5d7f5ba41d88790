/**
 * G38 masking end to end: a table keyed by an email, with a phone and an email in its rows, REPLICA IDENTITY FULL
 * (old tuples travel too), under the pipeline's `mask` transform. One NATS sink whose subject is built from the
 * (masked) key, one webhook whose receiver refuses every request (400) so each batch goes to a dead-letter sink.
 * Pass: no canary value in any NATS subject or payload, webhook body, dead-letter batch or log line; the keys
 * stay distinct (hashed, not redacted).
 */
import { createServer } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type Batch, createPipeline, type Logger, mask, type Sink } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import { createWebhookSink } from '@walstream/sink-webhook';
import { startNatsServer } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { freshDatabase, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CANARIES = ['canary.one@example.org', 'canary.two@example.org', '+44 7700 900123', 'canary-note@example.org'];

it('G38 masking: no cleartext in NATS subjects and payloads, webhook bodies, the dead-letter sink or logs', async () => {
  const url = await freshDatabase(inject('faultsPostgres').url, 'mask');
  await sql(url, 'CREATE TABLE users (email text PRIMARY KEY, phone text, contact_email text, n int)');
  await sql(url, 'ALTER TABLE users REPLICA IDENTITY FULL');
  await sql(url, 'CREATE PUBLICATION mask_pub FOR TABLE users');
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (d) => {
      b += d;
    });
    req.on('end', () => {
      bodies.push(`${JSON.stringify(req.headers)}\n${b}`);
      res.writeHead(400).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const dead: string[] = [];
  const deadLetter: Sink = {
    name: 'dlq',
    async write(b: Batch) {
      dead.push(JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    },
  };
  const logs: string[] = [];
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') } as Logger;
  const pipeline = createPipeline({
    name: 'g38',
    reader: createPostgresReader({
      connectionString: url,
      slot: `g38_${Date.now().toString(36)}`,
      publication: 'mask_pub',
      logger,
    }),
    transform: mask({ hashKey: 'g38-hash-key', extraColumns: ['contact_email'] }),
    sinks: [
      {
        sink: createNatsSink({
          servers: nats.url,
          subject: (e) =>
            `g38.${String(e.key?.email ?? 'none')
              .replace(/[^A-Za-z0-9]/g, '_')
              .slice(0, 40)}`,
          json: true,
          stream: { name: 'G38', subjects: ['g38.>'], storage: 'memory' },
          schemaBucket: false,
        }),
      },
      {
        sink: createWebhookSink({
          url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        }),
        deadLetter,
      },
    ],
    logger,
    batch: { maxWaitMs: 5 },
  });
  try {
    await pipeline.start();
    await sql(url, `INSERT INTO users VALUES ($1, $2, $3, 1), ($4, NULL, NULL, 2)`, [
      CANARIES[0],
      CANARIES[2],
      CANARIES[3],
      CANARIES[1],
    ]);
    await sql(url, 'UPDATE users SET n = n + 10');
    await sql(url, 'DELETE FROM users WHERE n = 12');
    const jsm = await jetstreamManager(nc);
    const stored = async () => (await jsm.streams.info('G38').catch(() => null))?.state.messages ?? 0;
    const deadEvents = () => dead.reduce((n, d) => n + (JSON.parse(d) as { events: unknown[] }).events.length, 0);
    for (let i = 0; i < 300 && ((await stored()) < 5 || deadEvents() < 5); i++) await pause(20);
    expect(await stored()).toBe(5);
    expect(deadEvents()).toBe(5);
    const messages: string[] = [];
    const subjects = new Set<string>();
    for (let seq = 1; seq <= 5; seq++) {
      const m = await jsm.streams.getMessage('G38', { seq });
      subjects.add(m?.subject ?? '');
      messages.push(`${m?.subject}\n${new TextDecoder().decode(m?.data)}`);
    }
    // Two distinct keys, hashed: two subjects (inserts and updates of a key share one).
    expect(subjects.size).toBe(2);
    const everything = [...messages, ...bodies, ...dead, ...logs].join('\n');
    for (const c of CANARIES) expect(everything).not.toContain(c);
    expect(everything).not.toContain('canary');
    expect(bodies.length).toBeGreaterThan(0);
  } finally {
    await pipeline.stop().catch(() => {});
    await nc.close();
    await nats.stop();
    await new Promise((r) => server.close(r));
    await sql(
      url,
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
    ).catch(() => {});
  }
});
