/** The service example runs as a user runs it: the built `walstream` bin in its own process. */
import { runExample } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';

describe('examples', () => {
  it('service: check, run, /status, /metrics and POST /shutdown with exit code 0', async () => {
    const r = await runExample('examples/service/index.mjs', {}, 120_000);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^PASS +wal_level +logical$/m);
    expect(r.output).toMatch(/GET \/status: pipeline shop running, 6 events, slot shop_slot retains \d+ bytes/);
    expect(r.output).toMatch(
      /walstream_table_events_total\{pipeline="shop",sink="[^"]+",table="public\.orders",operation="INSERT"\} 5/,
    );
    expect(r.output).toContain('POST /shutdown: exit code 0');
    expect(r.output).not.toMatch(/user\d@example\.com/);
  });
});
