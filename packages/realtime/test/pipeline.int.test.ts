import { createPipeline, type Logger } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { type PostgresCluster, startPostgres } from '@walstream/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeServers, connect, startServer, token, uniquePrefix } from './helpers.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres({ version: 15 });
});
afterAll(async () => {
  await closeServers();
  await cluster?.stop();
});

it('Postgres -> pipeline on instance A -> Redis -> a client of instance B, masked, once, in commit order', async () => {
  const db = new pg.Client({ connectionString: cluster.connectionString });
  await db.connect();
  await db.query(
    'CREATE TABLE accounts (id int PRIMARY KEY, tenant text NOT NULL, plan text, email text, big int8, price numeric(12,2))',
  );
  await db.query('ALTER TABLE accounts REPLICA IDENTITY FULL');
  const prefix = uniquePrefix();
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
  const reader = await startServer(prefix, { projectColumn: 'tenant' });
  const other = await startServer(prefix);
  const client = await connect(other, await token({ projects: ['t1'] }));
  await client.subscribe('realtime:t1:accounts');
  const pipeline = createPipeline({
    name: 'realtime-int',
    reader: createPostgresReader({
      connectionString: cluster.connectionString,
      slot: 'realtime_int',
      publication: 'realtime_int',
      tables: ['accounts'],
    }),
    sinks: [reader.sink],
    batch: { maxWaitMs: 10 },
    logger,
  });
  await pipeline.start();
  try {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO accounts VALUES (1, 't1', 'free', 'ada@example.org', 9007199254740993, 12.30), (2, 't2', 'free', 'bob@example.org', 1, 1)`,
    );
    await db.query(`UPDATE accounts SET plan = 'pro' WHERE id = 1`);
    await db.query('COMMIT');
    await db.query('DELETE FROM accounts WHERE id = 1');
    await client.until(() => client.events().length === 3, 'three events');
    const payloads = client.events().map((f) => f.payload);
    expect(payloads.map((p) => p?.action)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    expect(payloads[0]).toMatchObject({
      table: 'public.accounts',
      record: { id: 1, tenant: 't1', plan: 'free', email: '[REDACTED]', big: '9007199254740993', price: '12.30' },
    });
    expect(payloads[1]?.old_record).toMatchObject({ plan: 'free' });
    expect(payloads[2]).toMatchObject({ record: null, old_record: { id: 1, tenant: 't1' } });
    expect(client.raw.join('')).not.toContain('example.org');
    // the client's instance read nothing from Postgres; each event came once through Redis
    expect(other.stats().published).toBe(0);
    expect(reader.stats().published).toBe(4);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.events()).toHaveLength(3);
    expect(warnings).toEqual([]);
  } finally {
    await pipeline.stop();
    await db.end();
  }
});
