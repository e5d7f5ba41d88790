import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('the rabbitmq example publishes six confirmed messages and reads them back', async () => {
  const r = await runExample('examples/rabbitmq/index.mjs');
  expect(r.code, r.output).toBe(0);
  expect(r.output.match(/public\.items\.insert message_id=/g)).toHaveLength(6);
});
