import { afterEach, describe, expect, it } from 'vitest';
import { startTelemetry, type TelemetryServer } from './http.js';

let server: TelemetryServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('telemetry HTTP', () => {
  it('answers a POST /snapshot body that is not JSON with 400, and one too large with 413', async () => {
    let calls = 0;
    server = await startTelemetry(
      { host: '127.0.0.1', port: 0 },
      {
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        health: () => ({ ok: true, detail: {} }),
        ready: () => ({ ok: true, detail: {} }),
        status: () => ({}),
        shutdown: () => {},
        snapshot: async () => {
          calls++;
          return { status: 202, body: {} };
        },
      },
    );
    const post = (body: string) => fetch(`${server?.url}/snapshot`, { method: 'POST', body });
    const bad = await post('{"tables": [oops');
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('oops');
    expect((await post('x'.repeat(100_000))).status).toBe(413);
    expect((await post('{"tables": ["public.a"]}')).status).toBe(202);
    expect(calls).toBe(1);
  });
});
