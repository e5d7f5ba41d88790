/**
 * The demo under a real terminal: `script` gives it a pseudo-terminal, and a Ctrl-C byte written to the terminal
 * makes the line discipline send SIGINT to the whole foreground process group, exactly as a keyboard does (a
 * plain kill of the Node process would spare the Postgres child and hide the crash this test is about).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function waitFor(get: () => string, test: (out: string) => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      if (test(get())) {
        clearInterval(tick);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(tick);
        reject(new Error(`timed out waiting for ${what}; output so far:\n${get().slice(-3000)}`));
      }
    }, 100);
  });
}

it('Ctrl-C in a terminal stops the demo cleanly: "Done" line, exit 0, no temp folder, no process left', async () => {
  const child = spawn('script', ['-qfec', `${process.execPath} examples/quickstart/index.mjs`, '/dev/null'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own group, so the cleanup below can end everything it started
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let dir: string | undefined;
  try {
    await waitFor(
      () => out,
      (o) => /INSERT/.test(o.slice(o.indexOf('Ctrl-C to stop'))),
      120_000,
      'the first change',
    );
    dir = /also written to (\S+)\/changes\.jsonl/.exec(out)?.[1];
    expect(dir, 'the demo names its folder').toBeDefined();
    child.stdin.write('\x03'); // the terminal's interrupt character
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/Done: \d+ changes streamed/);
    expect(out).not.toMatch(/Unhandled|57P01|terminating connection/);
    expect(existsSync(dir as string), 'the temp folder is removed').toBe(false);
    // No postgres (or anything else) still running on that folder.
    let left = '';
    try {
      left = execFileSync('pgrep', ['-af', dir as string]).toString();
    } catch {
      // pgrep exits 1 when nothing matches
    }
    expect(left).toBe('');
  } finally {
    if (child.exitCode === null) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) {
      try {
        for (const pid of execFileSync('pgrep', ['-f', dir]).toString().trim().split('\n')) {
          process.kill(Number(pid), 'SIGKILL');
        }
      } catch {
        // nothing left
      }
      await rm(dir, { recursive: true, force: true });
    }
  }
}, 240_000);
