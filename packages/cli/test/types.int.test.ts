import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cli, freshDatabase, sql } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('walstream types', () => {
  it('generates TypeScript, zod and JSON Schema that compile, from the catalog', async () => {
    const url = await freshDatabase('types');
    await sql(
      url,
      `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
       CREATE DOMAIN big_id AS bigint;
       CREATE SCHEMA "Shop Floor";
       CREATE TABLE "Shop Floor"."Order ""Items""" (id big_id PRIMARY KEY, qty int NOT NULL, price numeric(10,2), moods mood[], m mood,
         w real, doc jsonb, raw bytea, at timestamptz, tags text[]);
       CREATE PUBLICATION types_pub FOR TABLE "Shop Floor"."Order ""Items""";`,
    );
    // Inside the package, so the generated zod file resolves the package's zod.
    const out = await mkdtemp(join(here, 'tmp-types-'));
    try {
      const r = await cli([
        'types',
        '--connection',
        url,
        '--slot',
        'unused',
        '--publication',
        'types_pub',
        '--out',
        out,
      ]);
      expect(r.code).toBe(0);
      const ts = await readFile(join(out, 'tables.ts'), 'utf8');
      expect(ts).toContain('export interface ShopFloorOrderItemsRow {');
      expect(ts).toContain('"id": string;');
      expect(ts).toContain('"qty": number;');
      expect(ts).toContain('"moods": Array<"sad" | "ok" | "happy" | null> | null;');
      const schema = JSON.parse(await readFile(join(out, 'tables.schema.json'), 'utf8'));
      expect(schema.$defs['Shop Floor.Order "Items"'].properties.raw).toEqual({
        anyOf: [{ type: 'string', contentEncoding: 'base64' }, { type: 'null' }],
      });
      const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));
      await promisify(execFile)(process.execPath, [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        join(out, 'tables.ts'),
        join(out, 'schemas.ts'),
      ]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
