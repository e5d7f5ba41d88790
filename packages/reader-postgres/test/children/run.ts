import type { ChildProcess } from 'node:child_process';
import { runTsChild } from '@walstream/testkit';

export { output, waitForLine } from '@walstream/testkit';

/** Runs a child script of this folder from source, with the package root as working directory. */
export function runChild(script: string, args: string[], nodeArgs: readonly string[] = []): ChildProcess {
  return runTsChild(new URL(script, import.meta.url), args, new URL('../..', import.meta.url), nodeArgs);
}
