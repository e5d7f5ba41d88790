import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createPipeline, type Logger } from '@walstream/core';
import { batchOf, makeEvent } from '@walstream/core/testing';
import { createPostgresReader } from '@walstream/reader-postgres';
import { freePort, reachable, startPostgres } from '@walstream/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsSink } from '../src/index.js';

const SERVER = '127.0.0.1:4222';
let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: SERVER });
});
afterAll(() => nc.close());

const unique = () => `t${randomBytes(4).toString('hex')}`;
const opts = { signal: new AbortController().signal };

function recordingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, msg, fields });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger };
}

async function withStream<T>(fn: (prefix: string, stream: string) => Promise<T>): Promise<T> {
  const prefix = unique();
  const stream = prefix.toUpperCase();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  try {
    return await fn(prefix, stream);
  } finally {
    await jsm.streams.delete(stream);
  }
}

async function msgIds(stream: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: string[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    out.push(m?.header?.get('Nats-Msg-Id') ?? '');
  }
  return out;
}

describe('nats sink: source identity in the Msg-Id', () => {
  it.each(['event', 'batch'] as const)(
    '%s mode: the same event ids from two sources are both stored, not dropped as duplicates',
    (mode) =>
      withStream(async (prefix, stream) => {
        const events = [makeEvent({ lsn: 0x2000n, index: 0 }), makeEvent({ lsn: 0x2000n, index: 1 })];
        for (const sourceId of ['cluster-a', 'cluster-b']) {
          const sink = createNatsSink({
            servers: SERVER,
            mode,
            subject: `${prefix}.{table}`,
            schemaBucket: false,
            sourceId,
          });
          await sink.write(batchOf(1, events), opts);
          await sink.close?.();
        }
        const ids = await msgIds(stream);
        expect(ids).toHaveLength(mode === 'event' ? 4 : 2);
        expect(ids.filter((i) => i.startsWith('cluster-a:'))).toHaveLength(ids.length / 2);
        expect(ids.filter((i) => i.startsWith('cluster-b:'))).toHaveLength(ids.length / 2);
      }),
  );

  it('takes the system identifier and timeline of the Postgres source through the pipeline', async () => {
    const cluster = await startPostgres({ version: 15 });
    const url = cluster.connectionString;
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('CREATE TABLE items (id int PRIMARY KEY)');
      await c.query('CREATE PUBLICATION id_pub FOR TABLE items');
      const sysid = (await c.query('SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0].s;
      const tli = (await c.query('SELECT timeline_id FROM pg_control_checkpoint()')).rows[0].timeline_id;
      await withStream(async (prefix, stream) => {
        const reader = createPostgresReader({ connectionString: url, slot: 'id_slot', publication: 'id_pub' });
        const p = createPipeline({
          name: 'id',
          reader,
          sinks: [createNatsSink({ servers: SERVER, subject: `${prefix}.{table}`, schemaBucket: false })],
          batch: { maxWaitMs: 10 },
        });
        await p.start();
        await c.query('INSERT INTO items VALUES (1), (2)');
        while (p.status().sinks[0]?.eventsOut !== 2) await new Promise((r) => setTimeout(r, 20));
        await p.stop();
        const ids = await msgIds(stream);
        expect(ids).toHaveLength(2);
        for (const id of ids) expect(id).toMatch(new RegExp(`^${sysid}\\.${tli}:[0-9A-F]+/[0-9A-F]+:[01]$`));
      });
    } finally {
      await c.end().catch(() => {});
      await cluster.stop();
    }
  }, 60_000);
});

describe('nats sink: duplicate acknowledgements', () => {
  it.each(['event', 'batch'] as const)('%s mode: counted in status and warned through the logger', (mode) =>
    withStream(async (prefix) => {
      const { lines, logger } = recordingLogger();
      const sink = createNatsSink({ servers: SERVER, mode, subject: `${prefix}.{table}`, schemaBucket: false });
      await sink.open?.({ pipeline: 'p', logger, signal: opts.signal });
      const events = [1, 2, 3].map((i) => makeEvent({ lsn: 0x3000n, index: i, after: { id: i, secret: 'row-value' } }));
      await sink.write(batchOf(1, events), opts);
      expect(sink.status().duplicates).toBe(0);
      await sink.write(batchOf(2, events), opts); // the same events again, inside the duplicate window
      const dups = mode === 'event' ? 3 : 1;
      expect(sink.status()).toMatchObject({ duplicates: dups, published: 2 * dups });
      const warned = lines.filter((l) => l.level === 'warn');
      expect(warned).toHaveLength(1);
      expect(warned[0]?.fields).toMatchObject({ duplicates: dups });
      expect(JSON.stringify(lines)).not.toContain('row-value');
      await sink.close?.();
    }),
  );
});

describe('nats sink: credentials in server URLs', () => {
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    server = spawn(
      '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '--user', 'cdc', '--pass', 's3cr3t-pw'],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100 && !(await reachable('127.0.0.1', port, 200)); i++)
      await new Promise((r) => setTimeout(r, 100));
  });
  afterAll(() => {
    server.kill('SIGKILL');
  });

  it('never appear in the sink name, log lines or error messages', async () => {
    const { lines, logger } = recordingLogger();
    const good = createNatsSink({ servers: [`nats://cdc:s3cr3t-pw@127.0.0.1:${port}`], schemaBucket: false });
    expect(good.name).toBe(`nats:nats://127.0.0.1:${port}`);
    await good.open?.({ pipeline: 'p', logger, signal: opts.signal });
    await good.close?.();
    const bad = createNatsSink({ servers: `nats://cdc:wr0ng-pw@127.0.0.1:${port}`, schemaBucket: false });
    const err = (await bad.open?.({ pipeline: 'p', logger, signal: opts.signal }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    const refused = createNatsSink({ servers: 'nats://cdc:wr0ng-pw@127.0.0.1:1', schemaBucket: false });
    const err2 = (await refused
      .open?.({ pipeline: 'p', logger, signal: opts.signal })
      .catch((e: unknown) => e)) as Error;
    const text = [good.name, bad.name, refused.name, err.message, err2.message, JSON.stringify(lines)].join('\n');
    expect(err2.message).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(text).not.toMatch(/s3cr3t-pw|wr0ng-pw/);
    await bad.close?.();
    await refused.close?.();
  }, 30_000);
});
