/** The README's examples run as a user runs them (from the built packages). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function run(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('examples', () => {
  it('quickstart streams live changes from an embedded Postgres and stops cleanly', async () => {
    const r = await run('examples/quickstart/index.mjs', { DEMO_SECONDS: '4' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/INSERT public\.orders {2}id=1 /);
    expect(r.out).toContain('email="');
    expect(r.out).toMatch(/email="[a-z]\*\*\*@example\.com"/); // masked by the demo's transform
    expect(r.out).not.toMatch(/"[a-z]{2,}@example\.com"/);
    expect(r.out).toMatch(/Done: \d+ changes streamed, last confirmed position [0-9A-F]+\/[0-9A-F]+:\d+/);
  });

  it('file-sink example writes ten events and no duplicate', async () => {
    const r = await run('examples/file-sink/index.mjs');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('holds 10 events');
  });
});
