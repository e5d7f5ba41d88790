/** Types the reader did not know at start, and built-in types it has no decoder for. */
import type { ChangeEvent, SchemaChange } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, servers, slotName, sql } from './helpers.js';

describe.each(servers())('Postgres $version late and unknown types', ({ url: adminUrl }) => {
  for (const binary of [false, true]) {
    it(`decodes enums, domains and arrays created after the reader started (${binary ? 'binary' : 'text'})`, async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'p',
        tables: ['t'],
        binary,
      });
      try {
        await reader.open();
        await sql(url, "CREATE TYPE feeling AS ENUM ('sad', 'happy')");
        await sql(url, 'CREATE DOMAIN bigid AS int8');
        await sql(
          url,
          'ALTER TABLE t ADD COLUMN f feeling, ADD COLUMN fa feeling[], ADD COLUMN b bigid, ADD COLUMN ba bigid[]',
        );
        await sql(url, `INSERT INTO t VALUES (1, 'happy', '{sad,happy}', 5, '{9007199254740993,NULL}')`);
        const items = await collect(reader.read(), (xs) => commits(xs).length === 1);
        const [e] = events(items) as ChangeEvent[];
        expect(e?.after).toEqual({ id: 1, f: 'happy', fa: ['sad', 'happy'], b: 5n, ba: [9007199254740993n, null] });
        const schema = items.find((i) => (i as { kind?: string }).kind === 'schema') as SchemaChange;
        expect(schema.schema.columns.map((c) => c.type)).toEqual([
          'integer',
          'feeling',
          'feeling[]',
          'bigid',
          'bigid[]',
        ]);
      } finally {
        await reader.close();
      }
    });
  }

  it('names built-in types it has no decoder for (point, tsvector, ...) instead of oid:NNN', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE g (id int PRIMARY KEY, p point, v tsvector, l line, pa point[], x pg_lsn)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['g'],
    });
    try {
      await reader.open();
      await sql(url, `INSERT INTO g VALUES (1, '(1,2)', 'a b', '{1,2,3}', '{"(1,2)"}', '0/10')`);
      const items = await collect(reader.read(), (xs) => commits(xs).length === 1);
      const schema = items.find((i) => (i as { kind?: string }).kind === 'schema') as SchemaChange;
      expect(schema.schema.columns.map((c) => c.type)).toEqual([
        'integer',
        'point',
        'tsvector',
        'line',
        'point[]',
        'pg_lsn',
      ]);
      const [e] = events(items) as ChangeEvent[];
      expect(e?.after).toEqual({ id: 1, p: '(1,2)', v: "'a' 'b'", l: '{1,2,3}', pa: ['(1,2)'], x: '0/10' });
    } finally {
      await reader.close();
    }
  });
});
