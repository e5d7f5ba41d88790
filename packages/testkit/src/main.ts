/**
 * Runs a command-line `main(args, io)` in-process, in the background: what it printed so far, and the signals a
 * test delivers through the `onSignal` hook it registered. Structural types, so the test kit needs no dependency
 * on the package whose `main` it runs.
 */
import { PassThrough } from 'node:stream';

export interface MainIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  onSignal?: (signal: 'SIGINT' | 'SIGTERM', handler: () => void) => void;
}

export interface MainRun {
  /** The exit code main() resolved with. */
  readonly exited: Promise<number>;
  out(): string;
  err(): string;
  /** Calls the handler main() registered for the signal, as the process would on that signal. */
  signal(sig: 'SIGINT' | 'SIGTERM'): void;
}

export function runMain(
  main: (args: string[], io: MainIo) => Promise<number>,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): MainRun {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  const handlers: Partial<Record<'SIGINT' | 'SIGTERM', () => void>> = {};
  const exited = main(args, {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: { ...env },
    onSignal: (sig, h) => {
      handlers[sig] = h;
    },
  });
  return { exited, out: () => out, err: () => err, signal: (sig) => handlers[sig]?.() };
}
