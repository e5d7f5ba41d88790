import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Batch, type ChangeEvent, createPipeline, type Position } from '@walstream/core';
import { batchOf, createArrayReader, makeEvent, makeTransactions } from '@walstream/core/testing';
import { startNatsServer } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsSink, schemaKey } from '../src/index.js';
import { loadZstd } from '../src/payload.js';
import { streamEvents } from './stream-events.js';

const SERVER = '127.0.0.1:4222';
let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: SERVER });
});
afterAll(() => nc.close());

const unique = () => `t${randomBytes(4).toString('hex')}`;

describe('nats sink', () => {
  const opts = { signal: new AbortController().signal };

  it('publishes each schema to the KV bucket once per shape, escaping hostile names', async () => {
    const bucket = unique();
    const prefix = unique();
    const sink = createNatsSink({
      servers: SERVER,
      subject: `${prefix}.{table}.{operation}`,
      stream: { name: prefix.toUpperCase(), subjects: [`${prefix}.>`], storage: 'memory' },
      schemaBucket: bucket,
    });
    await sink.open?.({} as never);
    const schema = {
      schema: 'public',
      table: 'a.b *',
      relationId: 1,
      replicaIdentity: 'default' as const,
      columns: [],
    };
    const batch: Batch = {
      ...batchOf(1, [makeEvent({ table: 'a.b *' })]),
      schemaChanges: [{ kind: 'schema', position: { lsn: 0x1000n, index: 0 }, schema, previous: null }],
    };
    await sink.write(batch, opts);
    const kv = await new Kvm(nc).open(bucket);
    const entry = await kv.get(schemaKey('public', 'a.b *'));
    expect(JSON.parse(entry?.string() ?? 'null')).toMatchObject({ table: 'a.b *' });
    expect(schemaKey('public', 'a.b *')).toBe('public.a=2e=b=20==2a=');
    // The subject got one token for the table, not three.
    const events = await streamEvents(nc, prefix.toUpperCase());
    expect(events).toHaveLength(1);
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage(prefix.toUpperCase(), { seq: 1 });
    expect(m?.subject).toBe(`${prefix}.a_b__.insert`);
    await sink.close?.();
    await jsm.streams.delete(prefix.toUpperCase());
    await new Kvm(nc).open(bucket).then((b) => b.destroy());
  });

  it('drops a replayed event by Nats-Msg-Id and keeps JSON and zstd payloads exact', async () => {
    const prefix = unique();
    const stream = prefix.toUpperCase();
    const sink = createNatsSink({
      servers: SERVER,
      subject: `${prefix}.{table}`,
      json: true,
      compression: 'zstd',
      stream: { name: stream, subjects: [`${prefix}.>`], storage: 'memory' },
      schemaBucket: false,
    });
    const e = makeEvent({ after: { id: 1n, big: 9223372036854775807n, note: 'é' } });
    await sink.write(batchOf(1, [e]), opts);
    await sink.write(batchOf(2, [e]), opts); // a retry or replay of the same event
    const got = await streamEvents(nc, stream);
    expect(got.map((x) => x.id)).toEqual([e.id]);
    expect(got[0]?.after?.big).toBe('9223372036854775807');
    await sink.close?.();
    await (await jetstreamManager(nc)).streams.delete(stream);
  });

  it('publishes what a custom encode returns, with its Content-Type, Msg-Id dedup and zstd', async () => {
    const prefix = unique();
    const stream = prefix.toUpperCase();
    const sink = createNatsSink({
      servers: SERVER,
      subject: `${prefix}.{table}`,
      encode: (e) => new TextEncoder().encode(`custom:${e.table}:${String(e.after?.id)}`),
      contentType: 'text/plain',
      compression: 'zstd',
      stream: { name: stream, subjects: [`${prefix}.>`], storage: 'memory' },
      schemaBucket: false,
    });
    const e = makeEvent({ after: { id: 7n } });
    await sink.write(batchOf(1, [e]), opts);
    await sink.write(batchOf(2, [e]), opts); // a replay: dropped by Msg-Id as usual
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
    const m = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(m?.header?.get('Content-Type')).toBe('text/plain');
    const zstd = await loadZstd();
    expect(new TextDecoder().decode(zstd.decompress(m?.data as Uint8Array))).toBe(`custom:${e.table}:7`);
    await sink.close?.();
    await jsm.streams.delete(stream);
    expect(() => createNatsSink({ servers: SERVER, mode: 'batch', encode: () => new Uint8Array() })).toThrow(
      /nats\.encode: a custom encode works in event mode only/,
    );
  });

  it('gives the event loop turns while it submits a large write, and keeps the order of overlapping writes', async () => {
    const prefix = unique();
    const stream = prefix.toUpperCase();
    // A turn counter the event loop advances; encode() notes the turn each event was encoded in.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turnOf = new Map<string, number>();
    const sink = createNatsSink({
      servers: SERVER,
      subject: `${prefix}.{table}`,
      encode: (e) => {
        turnOf.set(e.id, turn);
        return new TextEncoder().encode(`${e.id}:${'x'.repeat(1000)}`);
      },
      stream: { name: stream, subjects: [`${prefix}.>`], storage: 'memory' },
      schemaBucket: false,
      writesInFlight: 4,
    });
    const N = 20_000;
    const first = Array.from({ length: N }, (_, i) => makeEvent({ lsn: 0x1000n, index: i, after: { id: i } }));
    const second = Array.from({ length: 100 }, (_, i) => makeEvent({ lsn: 0x2000n, index: i, after: { id: i } }));
    try {
      // Both writes in flight at once: the second must not get ahead of the first while the first yields.
      await Promise.all([sink.write(batchOf(1, first), opts), sink.write(batchOf(2, second), opts)]);
    } finally {
      ticking = false;
    }
    // 20,000 events of 1 KB take well over one 10 ms slice to encode and submit: they span several turns.
    expect(new Set(first.map((e) => turnOf.get(e.id))).size).toBeGreaterThan(1);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(N + 100);
    const ids: string[] = [];
    for (const seq of [1, N, N + 1, N + 100]) {
      const m = await jsm.streams.getMessage(stream, { seq });
      ids.push(new TextDecoder().decode(m?.data as Uint8Array).split(':x')[0] as string);
    }
    expect(ids).toEqual([first[0]?.id, first[N - 1]?.id, second[0]?.id, second[99]?.id]);
    await sink.close?.();
    await jsm.streams.delete(stream);
  });

  it('fails clearly when no stream captures the subject', async () => {
    const sink = createNatsSink({
      servers: SERVER,
      subject: `${unique()}.nowhere`,
      schemaBucket: false,
      ackTimeoutMs: 500,
    });
    const err = await sink.write(batchOf(1, [makeEvent()]), opts).catch((x: unknown) => x);
    expect((err as Error).message).toMatch(/no JetStream stream captures the subject/);
    await sink.close?.();
  });

  it('survives the server being killed and restarted: retries, confirms nothing it lacks, delivers every event once', async () => {
    const server = await startNatsServer();
    const admin = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const items = makeTransactions({ transactions: 400, eventsPerTransaction: 5 });
      const reader = createArrayReader(items);
      const sink = createNatsSink({
        servers: server.url,
        stream: { name: 'CDC', subjects: ['cdc.>'] },
        schemaBucket: false,
        ackTimeoutMs: 300,
      });
      const p = createPipeline({
        name: 'nats-fault',
        reader,
        sinks: [sink],
        batch: { maxEvents: 10, maxWaitMs: 1 },
        retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 200 },
      });
      let retries = 0;
      p.on('retrying', () => retries++);
      await p.start();
      while (reader.pulled < 300) await new Promise((r) => setTimeout(r, 5));
      await server.kill();
      const confirmedAtKill = p.status().committed as Position | null;
      await new Promise((r) => setTimeout(r, 500));
      await server.restart();
      await p.done;
      const events = await streamEvents(admin, 'CDC');
      const ids = events.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length); // deduplicated by Msg-Id
      expect(ids.length).toBe(2000);
      expect(retries).toBeGreaterThan(0);
      // Everything confirmed before the kill was in the stream.
      if (confirmedAtKill) {
        const held = new Set(ids);
        const expected = items.filter(
          (i): i is ChangeEvent =>
            (i as { kind?: string }).kind === undefined && (i as ChangeEvent).position.lsn <= confirmedAtKill.lsn,
        );
        expect(expected.every((e) => held.has(e.id))).toBe(true);
      }
      expect(reader.acks.at(-1)?.lsn).toBe(0x1000n + 399n * 0x100n);
    } finally {
      await admin.close();
      await server.stop();
    }
  });

  it('maps a JetStream error in the PubAck (message over the stream size limit) to a non-retriable error', async () => {
    const prefix = unique();
    const stream = prefix.toUpperCase();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], max_msg_size: 64 });
    try {
      const sink = createNatsSink({ servers: SERVER, subject: `${prefix}.{table}`, schemaBucket: false });
      const err = (await sink.write(batchOf(1, [makeEvent()]), opts).catch((x: unknown) => x)) as SinkError;
      expect(err.message).toMatch(/JetStream API error 400/);
      expect(err.retriable).toBe(false);
      await sink.close?.();
    } finally {
      await jsm.streams.delete(stream);
    }
  });

  it('says clearly when JetStream is not enabled on the server', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const sink = createNatsSink({ servers: server.url, stream: { name: 'CDC' } });
      await expect(sink.open?.({} as never)).rejects.toThrow(/JetStream is not enabled on this NATS server/);
      await sink.close?.();
    } finally {
      await server.stop();
    }
  });

  it('rejects bad options', () => {
    expect(() => createNatsSink({ servers: [] })).toThrow(/nats.servers/);
    expect(() => createNatsSink({ servers: 'x', stream: { name: 'a.b' } })).toThrow(/nats.stream.name/);
    expect(() => createNatsSink({ servers: 'x', subject: 'cdc.{nope}' })).toThrow(/unknown placeholder/);
  });
});
