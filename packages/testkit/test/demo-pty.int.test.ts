/**
 * The demo under a real terminal: `script` gives it a pseudo-terminal, and a Ctrl-C byte written to the terminal
 * makes the line discipline send SIGINT to the whole foreground process group, exactly as a keyboard does (a
 * plain kill of the Node process would spare the Postgres child and hide the crash this test is about).
 * The demo runs with its own TMPDIR, so "nothing left behind" is checked on a folder no one else uses.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
    }, 50);
  });
}

/** Runs the demo in a pseudo-terminal, sends Ctrl-C once `ready` holds, and reports what it left. */
async function ctrlC(ready: (out: string) => boolean, what: string) {
  const sandbox = await mkdtemp(join(tmpdir(), 'walstream-demo-'));
  await chmod(sandbox, 0o777); // the postgres OS user creates its folders here too
  // `exec`: the terminal's foreground group is the demo alone, as when a person types the command at a prompt. Without
  // it, script's shell (dash when SHELL=/bin/sh, as in CI) waits in that group and dies of the SIGINT itself.
  const child = spawn('script', ['-qfec', `exec ${process.execPath} examples/quickstart/index.mjs`, '/dev/null'], {
    cwd: root,
    env: { ...process.env, TMPDIR: sandbox, SHELL: '/bin/sh' },
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
  const running = () => {
    try {
      return execFileSync('pgrep', ['-f', sandbox]).toString().trim().split('\n').map(Number);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  };
  try {
    await waitFor(() => out, ready, 120_000, what);
    child.stdin.write('\x03'); // the terminal's interrupt character
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    // Binary copies a root run from a private clone keeps for next time are a cache, not a leftover.
    const left = readdirSync(sandbox).filter((f) => !f.startsWith('walstream-postgres-'));
    return { code, out, left, processes: running() };
  } finally {
    if (child.exitCode === null) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of running()) process.kill(pid, 'SIGKILL');
    await rm(sandbox, { recursive: true, force: true });
  }
}

describe('Ctrl-C in a terminal stops the demo cleanly', () => {
  it('while streaming: "Done" line, exit 0, no temp folder, no process left', async () => {
    const r = await ctrlC((o) => /INSERT/.test(o.slice(o.indexOf('Ctrl-C to stop'))), 'the first change');
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toMatch(/Done: [1-9]\d* changes streamed/);
    expect(r.out).not.toMatch(/Unhandled|57P01|terminating connection/);
    expect(r.left).toEqual([]);
    expect(r.processes).toEqual([]);
  }, 240_000);

  it('while Postgres is still starting: same clean end', async () => {
    const r = await ctrlC((o) => o.includes('Starting Postgres'), 'the start-up line');
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toMatch(/Done: \d+ changes streamed/);
    expect(r.out).not.toMatch(/Unhandled|Error/);
    expect(r.left).toEqual([]);
    expect(r.processes).toEqual([]);
  }, 240_000);
});
