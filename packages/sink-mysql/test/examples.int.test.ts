import { runExample } from '@walstream/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './mysql-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sink_mysql_example');
});
afterAll(async () => {
  await db?.drop();
});

it('pg-to-mysql syncs into MariaDB and verifyTables finds both sides equal', async () => {
  const run = await runExample('examples/pg-to-mysql/index.mjs', { MYSQL_URL: db.url, EXAMPLE_SECONDS: '3' }, 120_000);
  expect(run.code, run.output).toBe(0);
  expect(run.output).toMatch(/verify: equal=true missing=0 extra=0 different=0/);
  const [n] = await db.query<{ n: string }>('SELECT COUNT(*) AS n FROM orders_copy');
  expect(Number(n?.n)).toBeGreaterThan(900);
}, 150_000);
