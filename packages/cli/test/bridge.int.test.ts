/**
 * `walstream nats`, the reference bridge's drop-in: its environment variables, subjects, payload shape, schemas in
 * KV, snapshot requests answered on INIT, HTTP endpoints. A private nats-server, since the bridge's stream names
 * (CDC, INIT) and bucket (schemas) are fixed.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeMsgpackMulti } from '@walstream/core';
import { type NatsServer, startNatsServer } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge } from '../src/bridge/bridge.js';
import { createServiceLogger } from '../src/service/log.js';
import { freshDatabase, sql, waitFor } from './helpers.js';

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: `127.0.0.1:${nats.port}` });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const quiet = () => createServiceLogger({ level: 'error', format: 'json' }, { destination: { write: () => {} } });

async function streamMessages(stream: string) {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: { subject: string; msgId: string | undefined; body: Record<string, unknown> }[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    const body = (
      m.header?.get('Content-Type') === 'application/json'
        ? JSON.parse(new TextDecoder().decode(m.data))
        : decodeMsgpackMulti(m.data)[0]
    ) as Record<string, unknown>;
    out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), body });
  }
  return out;
}

describe('walstream nats (bridge mode)', () => {
  it('publishes CDC, schemas and snapshots in the bridge shapes, from the bridge environment variables', async () => {
    const url = await freshDatabase('bridge');
    await sql(
      url,
      `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text, meta jsonb, big bigint);
      INSERT INTO users SELECT g, 'user ' || g, 'u' || g || '@example.com', '{"k": [1, 2]}', 9007199254740993 FROM generate_series(1, 25) g;
      CREATE PUBLICATION bridge_pub FOR TABLE users;`,
    );
    const u = new URL(url);
    const env = {
      PG_HOST: u.hostname,
      PG_PORT: u.port,
      PG_DB: u.pathname.slice(1),
      POSTGRES_BRIDGE_USER: 'postgres',
      NATS_HOST: '127.0.0.1',
      NATS_PORT: String(nats.port),
    };
    const service = await startBridge({
      slot: 'bridge_slot',
      publication: 'bridge_pub',
      port: 0,
      host: '127.0.0.1',
      json: false,
      zstd: false,
      env,
      logger: quiet(),
    });
    try {
      const kv = await new Kvm(nc).open('schemas');
      const schema = decodeMsgpackMulti((await kv.get('users'))?.value as Uint8Array)[0] as Record<string, unknown>;
      expect(schema).toMatchObject({
        table: 'users',
        schema: 'public.users',
        columns: [
          { name: 'id', position: 1, data_type: 'integer', is_nullable: false, column_default: null },
          { name: 'name', position: 2, data_type: 'text', is_nullable: false },
          { name: 'email', position: 3, data_type: 'text', is_nullable: true },
          { name: 'meta', position: 4, data_type: 'jsonb' },
          { name: 'big', position: 5, data_type: 'bigint' },
        ],
      });

      await sql(url, `INSERT INTO users VALUES (100, 'new', 'n@example.com', '{"a": {"b": 1}}', 1)`);
      await sql(url, `UPDATE users SET name = 'renamed' WHERE id = 100`);
      await sql(url, `DELETE FROM users WHERE id = 100`);
      const cdc = await waitFor('three CDC messages', async () => {
        const m = await streamMessages('CDC').catch(() => []);
        return m.length >= 3 ? m : null;
      });
      expect(cdc.map((m) => m.subject)).toEqual(['cdc.users.insert', 'cdc.users.update', 'cdc.users.delete']);
      const [ins, , del] = cdc;
      expect(ins?.body).toEqual({
        operation: 'INSERT',
        table: 'users',
        data: { id: 100, name: 'new', email: 'n@example.com', meta: { a: { b: 1 } }, big: 1n },
        msg_id: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+:0$/),
        subject: 'cdc.users.insert',
        relation_id: expect.any(Number),
      });
      expect(ins?.msgId).toMatch(new RegExp(`^\\d+\\.1:${String(ins?.body.msg_id).replace('/', '\\/')}$`));
      expect(del?.body).toMatchObject({ operation: 'DELETE', data: { id: 100 } });

      // A consumer bootstraps a table: request, chunks on init.snap.users.*, then metadata on init.meta.users.
      const reply = await nc.request('snapshot.request.users', new Uint8Array(), { timeout: 10_000 });
      const answer = JSON.parse(new TextDecoder().decode(reply.data)) as Record<string, unknown>;
      expect(answer).toMatchObject({ table: 'users', snapshot_id: expect.any(String) });
      const init = await waitFor('the snapshot metadata', async () => {
        const m = await streamMessages('INIT').catch(() => []);
        return m.some((x) => x.subject === 'init.meta.users') ? m : null;
      });
      const rows = init
        .filter((m) => m.subject.startsWith('init.snap.users.'))
        .flatMap((m) => m.body.data as Record<string, unknown>[]);
      expect(rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      expect(init.find((m) => m.subject === 'init.meta.users')?.body).toMatchObject({ table: 'users', row_count: 25 });
      // Snapshot rows never reach the CDC stream.
      expect((await streamMessages('CDC')).length).toBe(3);

      const base = service.http?.url as string;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
        /^walstream_table_events_total\{pipeline="bridge",sink="nats:[^"]+",table="public\.users",operation="DELETE"\} 1$/m,
      );
      expect((await fetch(`${base}/shutdown`, { method: 'POST' })).status).toBe(202);
      expect(await service.done).toBe(0);
    } finally {
      await service.stop();
    }
  });

  it('speaks JSON with --json', async () => {
    const url = await freshDatabase('bridgej');
    await sql(url, `CREATE TABLE t (id int PRIMARY KEY, v numeric); CREATE PUBLICATION pj FOR TABLE t;`);
    const u = new URL(url);
    const env = { PG_HOST: u.hostname, PG_PORT: u.port, PG_DB: u.pathname.slice(1), NATS_PORT: String(nats.port) };
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge('CDC').catch(() => {});
    const service = await startBridge({
      slot: 'bridge_json',
      publication: 'pj',
      port: 0,
      host: '127.0.0.1',
      json: true,
      zstd: false,
      env,
      logger: quiet(),
    });
    try {
      await sql(url, `INSERT INTO t VALUES (1, 12345678901234567890.5)`);
      const [m] = await waitFor('a JSON message', async () => {
        const all = await streamMessages('CDC');
        return all.length >= 1 ? all : null;
      });
      expect(m?.body).toMatchObject({
        operation: 'INSERT',
        table: 't',
        data: { id: 1, v: '12345678901234567890.5' },
        subject: 'cdc.t.insert',
      });
    } finally {
      await service.stop();
    }
  });
});
