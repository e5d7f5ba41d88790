/** The demo copies existing rows first (initial snapshot) and reports it; changes then stream as before. */
import { runExample } from '@walstream/testkit';
import { expect, it } from 'vitest';

it('quickstart copies existing rows with progress, then streams changes', async () => {
  const r = await runExample('examples/quickstart/index.mjs', { DEMO_SECONDS: '3', DEMO_EXISTING_ROWS: '12345' });
  expect(r.code, r.output).toBe(0);
  expect(r.output).toContain('copied 12,345 existing rows of public.customers');
  // Copied rows go to the file only: the terminal shows changes, starting with the first order.
  expect(r.output).not.toMatch(/READ public\.customers/);
  expect(r.output).toMatch(/INSERT public\.orders {2}id=1 /);
}, 90_000);
