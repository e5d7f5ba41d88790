/**
 * The INIT contract against a real NATS and Postgres: while inserts, updates and deletes run, a request on
 * `snapshot.request.{table}` yields chunks and metadata; applying the chunks, then every CDC event whose commit
 * LSN is above the metadata's `lsn`, reproduces the source table exactly. CDC keeps flowing meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type ChangeEvent, createPipeline, decodeEventMsgpack, filterSink, parseLsn, type Row } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink } from '@walstream/sink-nats';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createNatsInit, decodeInitMessage, type InitChunk, type InitMeta } from '../src/index.js';

const NATS = '127.0.0.1:4222';

async function sql(url: string, text: string, params?: unknown[]) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

async function freshDb(admin: string): Promise<string> {
  const name = `ni_${process.pid}_${randomBytes(4).toString('hex')}`;
  await sql(admin, `CREATE DATABASE ${name}`);
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

/** Every message of a stream (ordered consumer), up to its last sequence at call time. */
async function readAll(nc: NatsConnection, stream: string): Promise<JsMsg[]> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  const last = info.state.last_seq;
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(stream);
  const out: JsMsg[] = [];
  const iter = await consumer.consume();
  for await (const m of iter) {
    out.push(m);
    if (m.seq >= last) break;
  }
  await iter.close();
  return out;
}

const str = (v: unknown) => (v === null || v === undefined ? '<null>' : String(v));
const rowText = (r: Record<string, unknown>) => ['id', 'v', 'note', 'big'].map((c) => str(r[c])).join('|');

describe.each(inject('postgres'))('INIT protocol on Postgres $version', ({ url: admin }) => {
  it('chunks + CDC after lsn reproduce the table while writes go on', async () => {
    const url = await freshDb(admin);
    await sql(url, 'CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL, note text, big bigint)');
    await sql(url, `INSERT INTO orders SELECT g, 0, md5(g::text), 9007199254740993 FROM generate_series(1, 20000) g`);
    const tag = `ni${randomBytes(3).toString('hex')}`;
    const reader = createPostgresReader({ connectionString: url, slot: tag, publication: tag, tables: ['orders'] });
    const cdc = filterSink(
      createNatsSink({
        servers: NATS,
        subject: `${tag}.cdc.{table}.{operation}`,
        stream: { name: `${tag}_CDC`, subjects: [`${tag}.cdc.>`] },
        schemaBucket: false,
      }),
      { operations: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] },
    );
    const init = createNatsInit({
      servers: NATS,
      reader,
      publication: tag,
      connectionString: url,
      prefix: `${tag}.init`,
      requestSubject: `${tag}.snapshot.request`,
      stream: { name: `${tag}_INIT`, subjects: [`${tag}.init.>`] },
      schemaBucket: `${tag}_schemas`,
      chunkRows: 1500,
    });
    const pipeline = createPipeline({ name: tag, reader, sinks: [cdc, init.sink], batch: { maxWaitMs: 5 } });
    await pipeline.start();
    await init.start();
    const nc = await connect({ servers: NATS });
    try {
      // Schemas are in KV at start.
      const kv = await new Kvm(nc).open(`${tag}_schemas`);
      const schema = JSON.parse((await kv.get('public.orders'))?.string() ?? 'null');
      expect(schema.columns.map((c: { name: string; key: boolean }) => [c.name, c.key])).toEqual([
        ['id', true],
        ['v', false],
        ['note', false],
        ['big', false],
      ]);

      let writing = true;
      let ops = 0;
      const writer = (async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        let next = 100000;
        while (writing) {
          const id = 1 + Math.floor(Math.random() * 20000);
          await c.query('BEGIN');
          await c.query('INSERT INTO orders VALUES ($1, 1, $2, -1)', [next++, 'new']);
          await c.query('UPDATE orders SET v = v + 1, note = md5(random()::text) WHERE id = $1', [id]);
          await c.query('DELETE FROM orders WHERE id = $1', [1 + Math.floor(Math.random() * 20000)]);
          await c.query('COMMIT');
          ops++;
        }
        await c.end();
      })();
      while (ops < 10) await new Promise((r) => setTimeout(r, 20));

      const reply = JSON.parse(
        (await nc.request(`${tag}.snapshot.request.orders`, '', { timeout: 10_000 })).string(),
      ) as { snapshot_id: string; lsn: string; table: string };
      expect(reply.table).toBe('public.orders');
      const metaSub = nc.subscribe(`${tag}.init.meta.orders`, { max: 1 });
      let meta: InitMeta | null = null;
      for await (const m of metaSub) meta = await decodeInitMessage<InitMeta>(m.data, m.headers);
      writing = false;
      await writer;
      // A last change, so we know when CDC has caught up.
      await sql(url, 'UPDATE orders SET note = $1 WHERE id = (SELECT max(id) FROM orders)', ['final']);
      const finalLsn = parseLsn((await sql(url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);

      expect(meta).toMatchObject({ snapshot_id: reply.snapshot_id, lsn: reply.lsn, table: 'public.orders' });
      const m = meta as InitMeta;
      const copy = new Map<string, Row>();
      const chunks = (await readAll(nc, `${tag}_INIT`)).filter((x) => x.subject.startsWith(`${tag}.init.snap.`));
      expect(chunks.length).toBe(m.batch_count);
      expect(chunks.length).toBeGreaterThan(5);
      let rows = 0;
      for (const x of chunks) {
        expect(x.subject).toMatch(new RegExp(`^${tag}\\.init\\.snap\\.orders\\.${m.snapshot_id}\\.\\d+$`));
        const c = await decodeInitMessage<InitChunk>(x.data, x.headers);
        expect(c).toMatchObject({
          operation: 'snapshot',
          snapshot_id: m.snapshot_id,
          lsn: m.lsn,
          table: 'public.orders',
        });
        for (const r of c.data) copy.set(String(r.id), r);
        rows += c.data.length;
      }
      expect(rows).toBe(m.row_count);

      let events: ChangeEvent[] = [];
      for (let i = 0; i < 300; i++) {
        events = (await readAll(nc, `${tag}_CDC`)).map((x) => decodeEventMsgpack(x.data));
        if (events.some((e) => e.position.lsn >= finalLsn - 4096n && e.after?.note === 'final')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(events.some((e) => e.operation === 'READ')).toBe(false);
      const after = parseLsn(m.lsn);
      for (const e of events) {
        if (e.position.lsn <= after) continue;
        if (e.operation === 'DELETE') copy.delete(String(e.key?.id));
        else copy.set(String(e.after?.id), e.after as Row);
      }
      const source = await sql(url, 'SELECT id, v, note, big::text AS big FROM orders');
      const want = new Map(source.rows.map((r) => [String(r.id), rowText(r)]));
      const got = new Map([...copy].map(([k, r]) => [k, rowText(r)]));
      const bad = [...want].filter(([k, v]) => got.get(k) !== v).slice(0, 5);
      expect(bad).toEqual([]);
      expect(got.size).toBe(want.size);
    } finally {
      await pipeline.stop();
      await init.close();
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(`${tag}_CDC`).catch(() => {});
      await jsm.streams.delete(`${tag}_INIT`).catch(() => {});
      await new Kvm(nc)
        .open(`${tag}_schemas`)
        .then((kv) => kv.destroy())
        .catch(() => {});
      await nc.close();
    }
  }, 120_000);
  it('finds tables by subject token, schema.table or SQL name: mixed case, spaces, dots, other schemas', async () => {
    const url = await freshDb(admin);
    await sql(url, 'CREATE SCHEMA b');
    await sql(
      url,
      'CREATE TABLE "Order Lines" (id int PRIMARY KEY); INSERT INTO "Order Lines" SELECT generate_series(1, 3)',
    );
    await sql(url, 'CREATE TABLE "a.b" (id int PRIMARY KEY); INSERT INTO "a.b" SELECT generate_series(1, 4)');
    await sql(url, 'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 5)');
    await sql(url, 'CREATE TABLE b.items (id int PRIMARY KEY); INSERT INTO b.items SELECT generate_series(1, 6)');
    const tag = `ni${randomBytes(3).toString('hex')}`;
    const reader = createPostgresReader({
      connectionString: url,
      slot: tag,
      publication: tag,
      tables: ['"Order Lines"', '"a.b"', 'items', 'b.items'],
    });
    const init = createNatsInit({
      servers: NATS,
      reader,
      publication: tag,
      connectionString: url,
      prefix: `${tag}.init`,
      requestSubject: `${tag}.snapshot.request`,
      stream: { name: `${tag}_INIT`, subjects: [`${tag}.init.>`] },
      schemaBucket: false,
    });
    const pipeline = createPipeline({ name: tag, reader, sinks: [init.sink], batch: { maxWaitMs: 5 } });
    await pipeline.start();
    await init.start();
    const nc = await connect({ servers: NATS });
    try {
      const ask = async (subjectTail: string) =>
        JSON.parse((await nc.request(`${tag}.snapshot.request.${subjectTail}`, '', { timeout: 10_000 })).string());
      const finished = async (s: { done: Promise<InitMeta> }) => (await s.done).row_count;
      // Subject tokens: the escaped table name, or schema.table.
      expect(await ask('Order_Lines')).toMatchObject({ table: 'public.Order Lines' });
      expect(await ask('b.items')).toMatchObject({ table: 'b.items' });
      expect(await ask('items')).toMatchObject({ table: 'public.items' });
      expect(await ask('nope')).toMatchObject({ code: expect.any(String) });
      // The API: the name as it is, or as SQL (quoted parts kept).
      await new Promise((r) => setTimeout(r, 500)); // the requests above finish (one snapshot per table at a time)
      expect(await finished(await init.snapshot('Order Lines'))).toBe(3);
      expect(await finished(await init.snapshot('"Order Lines"'))).toBe(3);
      expect(await finished(await init.snapshot('public."a.b"'))).toBe(4);
      expect(await finished(await init.snapshot('b.items'))).toBe(6);
      // A table added to the publication after the start.
      await sql(url, 'CREATE TABLE late (id int PRIMARY KEY); INSERT INTO late SELECT generate_series(1, 7)');
      await sql(url, `ALTER PUBLICATION ${tag} ADD TABLE late`);
      expect(await ask('late')).toMatchObject({ table: 'public.late' });
    } finally {
      await pipeline.stop();
      await init.close();
      await (await jetstreamManager(nc)).streams.delete(`${tag}_INIT`).catch(() => {});
      await nc.close();
    }
  }, 60_000);
});
