import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, sql } from '../../sink-postgres/test/helpers.js';
import { verifyTables } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_verify');
});
afterAll(async () => {
  await db?.drop();
});

describe('verifyTables (Postgres -> MySQL)', () => {
  it('reports missing, extra and different keys chunk by chunk, never values', async () => {
    const src = await freshDatabase('verify');
    await sql(src, 'CREATE TABLE kv (a int, b text, v numeric(10,2), ts timestamptz, PRIMARY KEY (a, b))');
    await sql(
      src,
      `INSERT INTO kv SELECT i, 'k' || i, i * 1.5, '2026-01-01 00:00:00+02'::timestamptz + i * interval '1 second'
       FROM generate_series(1, 2500) i`,
    );
    await db.query(
      'CREATE TABLE kv (a INT, b VARCHAR(20), v DECIMAL(10,2), ts DATETIME(6), extra_col INT, PRIMARY KEY (a, b))',
    );
    const rows: string[] = [];
    for (let i = 1; i <= 2500; i++) {
      const ts = new Date(Date.UTC(2025, 11, 31, 22, 0, i)).toISOString().replace('T', ' ').replace('Z', '');
      rows.push(`(${i}, 'k${i}', ${(i * 1.5).toFixed(2)}, '${ts}', ${i})`);
    }
    await db.query(`INSERT INTO kv (a, b, v, ts, extra_col) VALUES ${rows.join(',')}`);
    const equal = await verifyTables({ source: src, target: db.url, tables: ['public.kv'], chunkSize: 700 });
    expect(equal).toEqual({ equal: true, tables: [{ table: 'public.kv', missing: [], extra: [], different: [] }] });

    await db.query("DELETE FROM kv WHERE a IN (5, 1999) AND b IN ('k5', 'k1999')");
    await db.query("INSERT INTO kv VALUES (9999, 'secret-key', 1, '2026-01-01', 0)");
    await db.query("UPDATE kv SET v = 123.45 WHERE a = 700 AND b = 'k700'");
    await db.query("UPDATE kv SET ts = '2026-01-01 00:00:00' WHERE a = 2500 AND b = 'k2500'");
    const r = await verifyTables({
      source: src,
      target: db.url,
      tables: [{ source: 'kv', target: 'kv' }],
      chunkSize: 700,
    });
    expect(r).toEqual({
      equal: false,
      tables: [
        {
          table: 'public.kv',
          missing: [
            ['5', 'k5'],
            ['1999', 'k1999'],
          ],
          extra: [['9999', 'secret-key']],
          different: [
            ['700', 'k700'],
            ['2500', 'k2500'],
          ],
        },
      ],
    });
    expect(JSON.stringify(r)).not.toContain('123.45');
  }, 60_000);
});
