/** Errors a newcomer meets first: table names, missing tables, unreachable servers. */
import { ConfigError, ErrorCode } from '@walstream/core';
import { freePort } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { ConnectionError, createPostgresReader } from '../src/index.js';
import { freshDatabase, freshTable, servers, slotInfo, slotName, sql } from './helpers.js';

describe.each(servers())('Postgres $version names and first errors', ({ url: adminUrl }) => {
  it('folds unquoted table names to lower case and keeps quoted ones', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE Orders (id int PRIMARY KEY); CREATE TABLE "MixedCase" (id int PRIMARY KEY)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['Public.ORDERS', '"MixedCase"'],
    });
    await reader.open();
    expect(reader.tables.map((t) => `${t.schema}.${t.table}`)).toEqual(['public.MixedCase', 'public.orders']);
    await reader.close();
  });

  it('gives a typed error naming a table that does not exist, and creates nothing', async () => {
    const { url, slot } = await freshTable(adminUrl);
    for (const publication of ['fresh_pub', 'existing_pub']) {
      if (publication === 'existing_pub') await sql(url, 'CREATE PUBLICATION existing_pub FOR TABLE t');
      const reader = createPostgresReader({ connectionString: url, slot, publication, tables: ['t', 'nope.missing'] });
      const err = await reader.open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe(ErrorCode.Config);
      expect((err as ConfigError).field).toBe('postgres.tables');
      expect((err as Error).message).toContain('nope.missing');
      await reader.close();
    }
    expect(await slotInfo(url, slot)).toBeNull();
    expect((await sql(url, `SELECT 1 FROM pg_publication WHERE pubname = 'fresh_pub'`)).rowCount).toBe(0);
  });

  it('names host and port when it cannot connect, never the password', async () => {
    const port = await freePort();
    const reader = createPostgresReader({
      connectionString: `postgres://walstream_user:s3cret-Passw0rd@127.0.0.1:${port}/db`,
      slot: 's',
      publication: 'p',
    });
    const err = await reader.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('s3cret');
    expect(JSON.stringify(err)).not.toContain('s3cret');
    await reader.close();
  });
});
