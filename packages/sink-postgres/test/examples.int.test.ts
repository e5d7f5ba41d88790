import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('pg-to-postgres replicates a table and verifyTables finds both sides equal', async () => {
  const run = await runExample('examples/pg-to-postgres/index.mjs', { EXAMPLE_SECONDS: '2' }, 120_000);
  expect(run.code, run.output).toBe(0);
  expect(run.output).toMatch(/verify: equal=true missing=0 extra=0 different=0/);
}, 150_000);
