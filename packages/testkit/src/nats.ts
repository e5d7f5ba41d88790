/** A private nats-server with JetStream on a free port, for tests that stop and restart the broker. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';
import { reachable } from './services.js';

export interface NatsServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL, keeping the JetStream store. */
  kill(): Promise<void>;
  /** Start again on the same port and store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** Enable JetStream. @default true */
  jetstream?: boolean;
  binary?: string;
}

export async function startNatsServer(options: StartNatsOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? '/usr/sbin/nats-server';
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'walstream-nats-'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    const js = options.jetstream === false ? [] : ['-js', '-sd', dir];
    proc = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), ...js], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await reachable('127.0.0.1', port, 200)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nats-server did not start on port ${port}`);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      const p = proc as ChildProcess | null;
      if (p === null || p.exitCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  await start();
  return {
    port,
    url: `127.0.0.1:${port}`,
    kill,
    restart: start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
