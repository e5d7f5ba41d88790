import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** What a fresh process reports after `code` (the built package: the test command builds first). */
async function inFreshProcess(code: string): Promise<{ undici: boolean; navigator: string; stream?: string }> {
  const probe = `${code}
    console.log(JSON.stringify({
      undici: process.moduleLoadList.some((m) => m.includes('undici')),
      navigator: typeof navigator,
      stream: globalThis.__stream,
    }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: packageDir });
  return JSON.parse(stdout.trim());
}

describe('pg-preload', () => {
  it("loads pg without Node's bundled fetch (undici) and leaves the global navigator as it was", async () => {
    const bare = await inFreshProcess('');
    const loaded = await inFreshProcess(`
      await import('@walstream/sink-postgres');
      const pg = (await import('pg')).default;
      globalThis.__stream = new pg.Client().connection.stream.constructor.name;`);
    expect(loaded.undici).toBe(false);
    expect(loaded.navigator).toBe(bare.navigator);
    // pg took its Node.js path: a net.Socket, not pg-cloudflare's socket.
    expect(loaded.stream).toBe('Socket');
  });
});
