import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain, sql } from '@walstream/testkit';
import { inject } from 'vitest';
import { main } from '../src/cli.js';

let counter = 0;

/** A fresh database on the test cluster, so tests never share slots or tables. */
export async function freshDatabase(prefix = 'cli'): Promise<string> {
  const url = inject('pgUrl');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await sql(url, `CREATE DATABASE ${name}`);
  return url.replace(/\/[^/]*$/, `/${name}`);
}

export { sql };

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'walstream-cli-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeConfig(dir: string, text: string): Promise<string> {
  const file = join(dir, 'walstream.yaml');
  await writeFile(file, text);
  return file;
}

/** Runs the CLI in-process and captures what it prints. */
export async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = runMain(main, args, env);
  const code = await r.exited;
  return { code, out: r.out(), err: r.err() };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
