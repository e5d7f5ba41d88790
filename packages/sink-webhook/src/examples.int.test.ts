import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('the webhook example retries a 503 with the same id and verifies the signature', async () => {
  const r = await runExample('examples/webhook/index.mjs');
  expect(r.code, r.output).toBe(0);
  // One request per source transaction; the refused first one is retried under the same id.
  expect(r.output).toContain('receiver: 503 for 0/1000:0..0/1000:1');
  for (const id of ['0/1000:0..0/1000:1', '0/1100:0..0/1100:1', '0/1200:0..0/1200:1']) {
    expect(r.output).toContain(`receiver: ${id} verified, 2 events`);
  }
});
