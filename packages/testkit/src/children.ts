/**
 * Child processes for crash tests: a TypeScript script run from source (tsx, `source` export condition, so it
 * never runs a stale build), its output collected, or a line awaited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs `script` (a file URL) with `args`; `cwd` is the package root, where `tsx` resolves. */
export function runTsChild(script: URL, args: string[], cwd: URL, nodeArgs: readonly string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    [...nodeArgs, '--conditions=source', '--import', 'tsx', fileURLToPath(script), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: fileURLToPath(cwd),
    },
  );
}

export function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

export function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      buf += d;
      if (buf.includes(line)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before "${line}": ${err.slice(-1500)}`)));
  });
}
