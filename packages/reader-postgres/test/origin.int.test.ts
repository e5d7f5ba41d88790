/** Replication origins: shown on events, and `origin: 'none'` (PG16+) skips changes that came from elsewhere. */
import {
  type ChangeEvent,
  ConfigError,
  decodeEventJson,
  decodeEventMsgpack,
  encodeEventJson,
  encodeEventMsgpack,
} from '@walstream/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, servers, slotName, sql } from './helpers.js';

/** Runs `statement` in a session that replays changes from `origin` (as a replication apply worker does). */
async function asOrigin(url: string, origin: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
    await c.query(statement); // its own transaction: the commit record carries the origin
    await c.query('SELECT pg_replication_origin_session_reset()');
  } finally {
    await c.end();
  }
}

describe.each(servers())('Postgres $version origins', ({ url: adminUrl, version }) => {
  it('names the origin of a change on its events, and none for local changes', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    await sql(url, `SELECT pg_replication_origin_create('peer_a_${version}')`).catch(() => {});
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
    });
    try {
      await reader.open();
      await asOrigin(url, `peer_a_${version}`, 'INSERT INTO t VALUES (1)');
      await sql(url, 'INSERT INTO t VALUES (2)');
      const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
      const [fromPeer, local] = events(items) as ChangeEvent[];
      expect(fromPeer?.origin).toBe(`peer_a_${version}`);
      expect(local && 'origin' in local).toBe(false);
      // The codecs carry it.
      expect(decodeEventJson(encodeEventJson(fromPeer as ChangeEvent)).origin).toBe(`peer_a_${version}`);
      expect(decodeEventMsgpack(encodeEventMsgpack(fromPeer as ChangeEvent)).origin).toBe(`peer_a_${version}`);
      expect(encodeEventJson(local as ChangeEvent)).not.toContain('origin');
    } finally {
      await reader.close();
    }
  });

  it.runIf(version >= 16)("skips changes from other origins with origin: 'none'", async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    await sql(url, `SELECT pg_replication_origin_create('peer_b_${version}')`).catch(() => {});
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      origin: 'none',
    });
    try {
      await reader.open();
      await asOrigin(url, `peer_b_${version}`, 'INSERT INTO t VALUES (1)');
      await sql(url, 'INSERT INTO t VALUES (2)');
      const items = await collect(reader.read(), (xs) => events(xs).length === 1 && commits(xs).length >= 1);
      expect((events(items) as ChangeEvent[]).map((e) => e.after?.id)).toEqual([2]);
    } finally {
      await reader.close();
    }
  });

  it.runIf(version < 16)("refuses origin: 'none' before PostgreSQL 16 with a ConfigError", async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      origin: 'none',
    });
    const err = await reader.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/postgres.origin/);
    await reader.close();
  });
});
