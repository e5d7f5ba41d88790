import type { ChangeEvent, SchemaChange } from '@walstream/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresReader } from '../src/index.js';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, servers, slotName, sql } from './helpers.js';

describe.each(servers())('Postgres $version reader', ({ url: adminUrl }) => {
  let reader: PostgresReader | null = null;
  afterEach(async () => {
    await reader?.close();
    reader = null;
  });

  it('streams inserts, updates, deletes and truncates with keys, before images and commit markers', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE items (id int PRIMARY KEY, name text, big int8, price numeric(10,2))');
    await sql(url, 'CREATE TABLE audit (id bigserial PRIMARY KEY, note text)');
    await sql(url, 'ALTER TABLE audit REPLICA IDENTITY FULL');
    reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'it_pub',
      tables: ['items', 'public.audit'],
    });
    await reader.open();
    await sql(url, `INSERT INTO items VALUES (1, 'a', 9223372036854775807, 1.50), (2, 'b', -1, NULL)`);
    await sql(url, `UPDATE items SET name = 'a2' WHERE id = 1`);
    await sql(url, `UPDATE items SET id = 10 WHERE id = 2`);
    await sql(url, `DELETE FROM items WHERE id = 10`);
    await sql(url, `INSERT INTO audit (note) VALUES ('x'); UPDATE audit SET note = 'y'`);
    await sql(url, `TRUNCATE items RESTART IDENTITY CASCADE`);
    const items = await collect(reader.read(), (xs) => commits(xs).length === 6);
    const evs = events(items) as ChangeEvent[];
    expect(evs.map((e) => `${e.operation} ${e.table}`)).toEqual([
      'INSERT items',
      'INSERT items',
      'UPDATE items',
      'UPDATE items',
      'DELETE items',
      'INSERT audit',
      'UPDATE audit',
      'TRUNCATE items',
    ]);
    const [i1, i2, u1, u2, d, a1, a2, t] = evs as ChangeEvent[];
    expect(i1?.after).toEqual({ id: 1, name: 'a', big: 9223372036854775807n, price: '1.50' });
    expect(i1?.key).toEqual({ id: 1 });
    expect(i2?.position.lsn).toBe(i1?.position.lsn);
    expect(i2?.position.index).toBe(1);
    expect(i2?.id).toMatch(/^[0-9A-F]+\/[0-9A-F]+:1$/);
    expect(u1?.before).toEqual({ id: 1 }); // DEFAULT identity: the key
    expect(u2?.before).toEqual({ id: 2 }); // the old key of a key-changing update
    expect(u2?.key).toEqual({ id: 10 });
    expect(d?.before).toEqual({ id: 10 });
    expect(d?.after).toBeNull();
    expect(a2?.before).toEqual({ id: 1n, note: 'x' }); // FULL identity: the old row
    expect(a2?.key).toEqual({ id: 1n }); // the primary key, not every column
    expect(a1?.database).toBe(url.split('/').pop());
    expect(t?.truncate).toEqual({ cascade: true, restartIdentity: true });
    const schemas = items.filter((i) => (i as { kind?: string }).kind === 'schema') as SchemaChange[];
    expect(schemas.map((s) => s.schema.table).sort()).toEqual(['audit', 'items']);
    expect(schemas.find((s) => s.schema.table === 'audit')?.schema.replicaIdentity).toBe('full');
  });
});
