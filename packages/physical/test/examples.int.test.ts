import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('examples/pitr restores the dropped table to the moment before', async () => {
  const r = await runExample('examples/pitr/index.mjs', {}, 240_000);
  expect(r.code, r.output).toBe(0);
  expect(r.output).toMatch(/base backup: [0-9A-F]+\/[0-9A-F]+ \.\. [0-9A-F]+\/[0-9A-F]+, timeline 1/);
  expect(r.output).toMatch(/orders dropped/);
  expect(r.output).toMatch(/orders in the restored database: 1000\n/);
}, 300_000);
