import { fileURLToPath } from 'node:url';
import { probePgLoad } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';

describe('pg-preload', () => {
  it("loads pg without Node's bundled fetch (undici) and leaves the global navigator as it was", async () => {
    const p = await probePgLoad(fileURLToPath(new URL('..', import.meta.url)), '@walstream/sink-postgres');
    expect(p.undici).toBe(false);
    expect(p.navigator).toBe(p.bareNavigator);
    // pg took its Node.js path: a net.Socket, not pg-cloudflare's socket.
    expect(p.stream).toBe('Socket');
  });
});
