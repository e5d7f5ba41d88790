/** The README's examples run as a user runs them (from the built packages). */
import { runExample } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';

describe('examples', () => {
  it('quickstart streams live changes from an embedded Postgres and stops cleanly', async () => {
    const r = await runExample('examples/quickstart/index.mjs', { DEMO_SECONDS: '4' });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/INSERT public\.orders {2}id=1 /);
    expect(r.output).toMatch(/email="[a-z]\*\*\*@example\.com"/); // masked by the demo's transform
    expect(r.output).not.toMatch(/"[a-z]{2,}@example\.com"/);
    expect(r.output).toMatch(/Done: \d+ changes streamed, last confirmed position [0-9A-F]+\/[0-9A-F]+:\d+/);
  });

  it('file-sink example writes ten events and no duplicate', async () => {
    const r = await runExample('examples/file-sink/index.mjs');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('holds 10 events');
  });
});
