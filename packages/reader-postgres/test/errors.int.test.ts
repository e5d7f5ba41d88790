import { ConfigError, DecodeError } from '@walstream/core';
import { startPostgres } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  createPostgresReader,
  PublicationMissingError,
  ReplicaIdentityError,
  SlotActiveError,
  SlotInvalidatedError,
  WalLevelError,
} from '../src/index.js';
import { freshDatabase, servers, slotInfo, slotName, sql } from './helpers.js';

describe.each(servers())('Postgres $version start-up errors', ({ url: adminUrl, version }) => {
  it("says why it cannot connect (the server's reason and SQLSTATE), never the password", async () => {
    const role = new URL(adminUrl);
    role.username = 'no_such_role';
    role.password = 'sekret-pw';
    const db = new URL(adminUrl);
    db.pathname = '/no_such_db';
    const port = new URL(adminUrl);
    port.port = '1';
    for (const [url, reason] of [
      [role, /role "no_such_role" does not exist \(SQLSTATE 28000\)/],
      [db, /database "no_such_db" does not exist \(SQLSTATE 3D000\)/],
      [port, /ECONNREFUSED/],
    ] as const) {
      const reader = createPostgresReader({ connectionString: url.href, slot: 's', publication: 'p' });
      const err = (await reader.open().catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain('sekret-pw');
      await reader.close();
    }
  });

  it('fails on a missing publication with PublicationMissingError and creates no slot', async () => {
    const url = await freshDatabase(adminUrl);
    const slot = slotName(url);
    const reader = createPostgresReader({ connectionString: url, slot, publication: 'nope' });
    await expect(reader.open()).rejects.toBeInstanceOf(PublicationMissingError);
    expect(await slotInfo(url, slot)).toBeNull();
    await reader.close();
  });

  it('fails fast with SlotActiveError when another consumer holds the slot', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const opts = { connectionString: url, slot: slotName(url), publication: 'p', tables: ['t'] };
    const first = createPostgresReader(opts);
    await first.open();
    const second = createPostgresReader(opts);
    const err = await second.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlotActiveError);
    expect((err as Error).message).toMatch(/is active/);
    await second.close();
    await first.close();
  });

  it('refuses tables without a usable replica identity', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE nokey (a int)');
    await sql(url, 'CREATE TABLE nothing (id int PRIMARY KEY)');
    await sql(url, 'ALTER TABLE nothing REPLICA IDENTITY NOTHING');
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['nokey', 'nothing'],
    });
    const err = await reader.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaIdentityError);
    expect((err as Error).message).toContain('public.nokey');
    expect((err as Error).message).toContain('public.nothing');
    expect(await slotInfo(url, slot)).toBeNull();
    await reader.close();
  });

  it('quotes hostile identifiers in the publication and table names', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, `CREATE SCHEMA "we.ird"; CREATE TABLE "we.ird"."Ta""ble; DROP TABLE x" (id int PRIMARY KEY)`);
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'pub"; DROP',
      tables: ['"we.ird"."Ta""ble; DROP TABLE x"'],
    });
    await reader.open();
    expect(reader.tables.map((t) => `${t.schema}|${t.table}`)).toEqual(['we.ird|Ta"ble; DROP TABLE x']);
    await reader.close();
  });

  it('fails loudly in binary mode on a type without a binary decoder, naming column and type, never the value', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE nets (id int PRIMARY KEY, addr inet)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['nets'],
      binary: true,
    });
    await reader.open();
    await sql(url, `INSERT INTO nets VALUES (1, '10.9.8.7')`);
    const err = await (async () => {
      for await (const _ of reader.read()) {
        // the first row fails to decode
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toContain('no binary decoder for type inet (column addr of public.nets)');
    expect((err as Error).message).not.toContain('10.9.8.7');
    await reader.close();
  });

  it('rejects bad options with ConfigError naming the field', () => {
    expect(() => createPostgresReader({ slot: 's', publication: 'p' })).toThrow(/postgres.connectionString/);
    expect(() => createPostgresReader({ connectionString: 'x', slot: 'Bad-Slot', publication: 'p' })).toThrow(
      ConfigError,
    );
    expect(() =>
      createPostgresReader({ connectionString: 'x', slot: 's', publication: 'p', protocolVersion: 9 as 1 }),
    ).toThrow(/postgres.protocolVersion/);
  });

  it('fails with WalLevelError when wal_level is not logical', async () => {
    const cluster = await startPostgres({ version: version as 15 | 18, settings: { wal_level: 'replica' } });
    try {
      const reader = createPostgresReader({
        connectionString: cluster.connectionString,
        slot: 's',
        publication: 'p',
        tables: ['t'],
      });
      await expect(reader.open()).rejects.toBeInstanceOf(WalLevelError);
      await reader.close();
    } finally {
      await cluster.stop();
    }
  });

  it('fails with SlotInvalidatedError once the slot lost its WAL, and confirms nothing', async () => {
    const cluster = await startPostgres({
      version: version as 15 | 18,
      settings: { max_slot_wal_keep_size: '1MB', min_wal_size: '32MB', max_wal_size: '64MB' },
    });
    try {
      const url = cluster.connectionString;
      await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
      const opts = { connectionString: url, slot: 'lost_slot', publication: 'p', tables: ['t'] };
      const first = createPostgresReader(opts);
      await first.open();
      await first.close();
      const before = await slotInfo(url, 'lost_slot');
      for (let i = 0; i < 4; i++) {
        await sql(url, `INSERT INTO t SELECT g + ${i * 20000}, repeat('x', 200) FROM generate_series(1, 20000) g`);
        await sql(url, 'SELECT pg_switch_wal()');
      }
      await sql(url, 'CHECKPOINT');
      const status = await sql(url, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lost_slot'`);
      expect(status.rows[0]?.wal_status).toBe('lost');
      const reader = createPostgresReader(opts);
      await expect(reader.open()).rejects.toBeInstanceOf(SlotInvalidatedError);
      await reader.close();
      expect((await slotInfo(url, 'lost_slot'))?.confirmed).toBe(before?.confirmed);
    } finally {
      await cluster.stop();
    }
  });
});
