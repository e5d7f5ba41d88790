/**
 * A command on a real pseudo-terminal (`script`), as a person runs it at a prompt: TTY output is drawn, and the
 * interrupt character written to the terminal reaches the foreground process group as SIGINT from the line
 * discipline (a plain kill of one process would spare its children and hide what Ctrl-C really does).
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface TerminalRun {
  readonly child: ChildProcess;
  /** Everything the terminal showed so far. */
  output(): string;
  /** The exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Types Ctrl-C; resolves with the exit code, or 'hung' when it has not exited within `ms`. */
  ctrlC(ms?: number): Promise<number | null | 'hung'>;
}

export function runInTerminal(
  command: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): TerminalRun {
  // `exec`: the terminal's foreground group is the command alone. Without it, script's shell (dash when
  // SHELL=/bin/sh, as in CI) waits in that group and dies of the SIGINT itself; SHELL is pinned so it runs the same
  // everywhere.
  const child = spawn('script', ['-qfec', `exec ${command}`, '/dev/null'], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...process.env, ...opts.env, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    ctrlC(ms = 60_000) {
      child.stdin?.write('\x03'); // the terminal's interrupt character
      return Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);
    },
  };
}
