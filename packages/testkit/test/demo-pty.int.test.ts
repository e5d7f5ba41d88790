/**
 * The demo under a real terminal: `script` gives it a pseudo-terminal, and a Ctrl-C byte written to the terminal
 * makes the line discipline send SIGINT to the whole foreground process group, exactly as a keyboard does (a
 * plain kill of the Node process would spare the Postgres child and hide the crash this test is about).
 * The demo runs with its own TMPDIR, so "nothing left behind" is checked on a folder no one else uses.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInTerminal } from '../src/terminal.js';
import { until } from '../src/until.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the demo in a pseudo-terminal, sends Ctrl-C once `ready` holds, and reports what it left. */
async function ctrlC(ready: (out: string) => boolean, what: string) {
  const sandbox = await mkdtemp(join(tmpdir(), 'walstream-demo-'));
  await chmod(sandbox, 0o777); // the postgres OS user creates its folders here too
  const term = runInTerminal(`${process.execPath} examples/quickstart/index.mjs`, {
    cwd: root,
    env: { TMPDIR: sandbox },
    detached: true, // its own group, so the cleanup below can end everything it started
  });
  const child = term.child;
  const running = () => {
    try {
      return execFileSync('pgrep', ['-f', sandbox]).toString().trim().split('\n').map(Number);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  };
  try {
    await until(() => ready(term.output()), what, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}; output so far:\n${term.output().slice(-3000)}`);
    });
    const code = await term.ctrlC();
    // Binary copies a root run from a private clone keeps for next time are a cache, not a leftover.
    const left = readdirSync(sandbox).filter((f) => !f.startsWith('walstream-postgres-'));
    return { code, out: term.output(), left, processes: running() };
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
