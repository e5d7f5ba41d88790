/**
 * From a real Postgres (logical replication, the walstream reader) to the Kafka mock: the keys, tombstones and
 * primary-key changes the sink produces for the event shapes Postgres really sends (REPLICA IDENTITY DEFAULT with a
 * primary key, FULL with one, FULL without one).
 */
import { createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { type KafkaMock, type PostgresCluster, startKafkaMock, startPostgres } from '@walstream/testkit';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafkaSink } from '../src/index.js';
import { readAll, unique } from './read-topic.js';

let mock: KafkaMock;
let postgres: PostgresCluster;
beforeAll(async () => {
  [mock, postgres] = await Promise.all([startKafkaMock(1), startPostgres({ version: 18 })]);
});
afterAll(async () => {
  await Promise.all([mock?.stop(), postgres?.stop()]);
});

async function run(url: string, statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

async function messageCount(topics: string[]): Promise<number> {
  const admin = new Kafka({ clientId: 'count', brokers: mock.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let n = 0;
    for (const t of topics) for (const o of await admin.fetchTopicOffsets(t)) n += Number(o.high) - Number(o.low);
    return n;
  } finally {
    await admin.disconnect();
  }
}

/** [operation or 'tombstone', message key] of every message of a topic, in order. */
async function shape(topic: string): Promise<[string, string | null][]> {
  return (await readAll(mock.brokers, topic)).map((m) => [m.event?.operation ?? 'tombstone', m.key]);
}

it('keys, tombstones and primary-key changes for the rows Postgres really sends', async () => {
  const url = await postgres.createDatabase(unique());
  await run(url, [
    'CREATE TABLE withpk (id int PRIMARY KEY, note text)',
    'CREATE TABLE fullpk (id int PRIMARY KEY, note text)',
    'ALTER TABLE fullpk REPLICA IDENTITY FULL',
    'CREATE TABLE nopk (a int, b text)',
    'ALTER TABLE nopk REPLICA IDENTITY FULL',
    'CREATE TABLE keyed (a int, b text)',
    'ALTER TABLE keyed REPLICA IDENTITY FULL',
  ]);
  const prefix = unique();
  const tables = ['withpk', 'fullpk', 'nopk', 'keyed'];
  const topics = tables.map((t) => `${prefix}.${t}`);
  for (const t of topics) await mock.createTopic(t, 1);
  const pipeline = createPipeline({
    name: 'pg-kafka',
    reader: createPostgresReader({ connectionString: url, slot: prefix, publication: prefix, tables }),
    sinks: [
      createKafkaSink({ brokers: mock.brokers, topic: `${prefix}.{table}`, keyColumns: { 'public.keyed': ['a'] } }),
    ],
    batch: { maxWaitMs: 10 },
  });
  await pipeline.start();
  try {
    await run(
      url,
      tables.flatMap((t) =>
        t === 'withpk' || t === 'fullpk'
          ? [
              `INSERT INTO ${t} VALUES (1, 'a')`,
              `UPDATE ${t} SET note = 'b' WHERE id = 1`,
              `UPDATE ${t} SET id = 2 WHERE id = 1`,
              `DELETE FROM ${t} WHERE id = 2`,
            ]
          : [`INSERT INTO ${t} VALUES (1, 'a')`, `UPDATE ${t} SET b = 'b' WHERE a = 1`, `DELETE FROM ${t} WHERE a = 1`],
      ),
    );
    // withpk and fullpk: 4 changes + DELETE and tombstone for the old key + the DELETE's tombstone; nopk 3; keyed 3 + 1.
    for (let i = 0; (await messageCount(topics)) < 7 + 7 + 3 + 4; i++) {
      if (i > 300) throw new Error(`only ${await messageCount(topics)} messages arrived`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await pipeline.stop();
  }
  const pk = [
    ['INSERT', '{"id":1}'],
    ['UPDATE', '{"id":1}'],
    ['DELETE', '{"id":1}'],
    ['tombstone', '{"id":1}'],
    ['UPDATE', '{"id":2}'],
    ['DELETE', '{"id":2}'],
    ['tombstone', '{"id":2}'],
  ];
  expect(await shape(`${prefix}.withpk`)).toEqual(pk);
  expect(await shape(`${prefix}.fullpk`)).toEqual(pk);
  // No primary key: the reader's key is empty (or, from other readers, the whole row): a null key, no tombstone. An
  // empty key would put the whole table on one key, and a tombstone for it would compact the table away.
  expect(await shape(`${prefix}.nopk`)).toEqual([
    ['INSERT', null],
    ['UPDATE', null],
    ['DELETE', null],
  ]);
  expect(await shape(`${prefix}.keyed`)).toEqual([
    ['INSERT', '{"a":1}'],
    ['UPDATE', '{"a":1}'],
    ['DELETE', '{"a":1}'],
    ['tombstone', '{"a":1}'],
  ]);
});
