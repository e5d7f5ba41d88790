/** The example runs as a user runs it: a bridge, and a consumer mirroring a table into PGlite from INIT + CDC. */
import { randomBytes } from 'node:crypto';
import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('nats-init example: the PGlite mirror equals the source after INIT chunks and CDC', async () => {
  const ns = `niex${randomBytes(3).toString('hex')}.`;
  const run = await runExample(
    'examples/nats-init/index.mjs',
    { EXAMPLE_SECONDS: '2', NATS_NAMESPACE: ns, NATS_CLEANUP: '1' },
    120_000,
  );
  expect(run.code, run.output).toBe(0);
  expect(run.output).toMatch(/mirror: applied \d+ chunks, \d+ rows/);
  expect(run.output).toMatch(/mirror matches the source: \d+ rows/);
}, 150_000);
