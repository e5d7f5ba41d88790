/**
 * verifyTables takes table names the way the reader does: `public."Select"` and `"Shop Floor"."Order ""Items"""`
 * name the tables with those exact names; a malformed entry of `tables` is a ConfigError.
 */
import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { verifyTables } from '../src/index.js';
import { freshDatabase, sql } from './helpers.js';

describe('verifyTables table names', () => {
  it("accepts the reader's quoted names and refuses malformed entries", async () => {
    const src = await freshDatabase('vn_src');
    const dst = await freshDatabase('vn_dst');
    for (const url of [src, dst]) {
      await sql(url, 'CREATE SCHEMA "Shop Floor"');
      await sql(url, 'CREATE TABLE "Shop Floor"."Order ""Items""" (id int PRIMARY KEY, v text)');
      await sql(url, 'CREATE TABLE "Select" (id int PRIMARY KEY)');
      await sql(url, `INSERT INTO "Shop Floor"."Order ""Items""" VALUES (1, 'a'), (2, 'b')`);
      await sql(url, 'INSERT INTO "Select" VALUES (1)');
    }
    const v = await verifyTables({
      source: src,
      target: dst,
      tables: ['"Shop Floor"."Order ""Items"""', 'public."Select"', { source: '"Select"', target: 'public."Select"' }],
    });
    expect(v.tables.map((t) => t.table)).toEqual(['Shop Floor.Order "Items"', 'public.Select', 'public.Select']);
    expect(v.equal).toBe(true);
    // Plain names stay exact, as before.
    expect((await verifyTables({ source: src, target: dst, tables: ['Select'] })).equal).toBe(true);
    await expect(
      verifyTables({ source: src, target: dst, tables: [{ schema: 'public', table: 'Select' } as never] }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('compares a domain column with its text copy (createTables makes user-defined types text)', async () => {
    const src = await freshDatabase('vd_src');
    const dst = await freshDatabase('vd_dst');
    await sql(src, 'CREATE DOMAIN posint AS int CHECK (VALUE > 0)');
    await sql(src, 'CREATE DOMAIN flag AS boolean');
    await sql(src, 'CREATE TABLE d (id int PRIMARY KEY, n posint, f flag)');
    await sql(src, 'INSERT INTO d VALUES (1, 5, true), (2, 70000, false), (3, NULL, NULL)');
    await sql(dst, 'CREATE TABLE d (id int PRIMARY KEY, n text, f text)');
    await sql(dst, "INSERT INTO d VALUES (1, '5', 'true'), (2, '70000', 'false'), (3, NULL, NULL)");
    expect(await verifyTables({ source: src, target: dst, tables: ['d'] })).toMatchObject({ equal: true });
    await sql(dst, "UPDATE d SET n = '6' WHERE id = 1");
    const v = await verifyTables({ source: src, target: dst, tables: ['d'] });
    expect(v.tables[0]?.different).toEqual([['1']]);
  });
});
