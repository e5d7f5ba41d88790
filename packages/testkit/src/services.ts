/**
 * The machine's shared services. A test suite calls `ensureServices([...])` in its global setup: a service that
 * is down is started with the machine's own command; one that stays unreachable fails the run with a message
 * naming it. Nothing is skipped silently.
 */
import { execSync } from 'node:child_process';
import { Socket } from 'node:net';

export interface Service {
  name: string;
  host: string;
  port: number;
  /** The command that starts it on this machine kind (machines/node-svc.md). */
  start: string;
}

export const SERVICES = {
  nats: {
    name: 'NATS with JetStream',
    host: '127.0.0.1',
    port: 4222,
    start:
      'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
  },
  rabbitmq: { name: 'RabbitMQ', host: '127.0.0.1', port: 5672, start: 'rabbitmq-server -detached' },
  mariadb: {
    name: 'MariaDB',
    host: '127.0.0.1',
    port: 3306,
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
  },
  redis: {
    name: 'Redis',
    host: '127.0.0.1',
    port: 6379,
    start:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  },
} satisfies Record<string, Service>;

export type ServiceName = keyof typeof SERVICES;

export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

export async function ensureService(name: ServiceName, waitMs = 60_000): Promise<Service> {
  const svc = SERVICES[name];
  if (await reachable(svc.host, svc.port)) return svc;
  try {
    execSync(svc.start, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // Reported below with the command, if the service still does not answer.
  }
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; ) {
    if (await reachable(svc.host, svc.port)) return svc;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${svc.name} is not reachable at ${svc.host}:${svc.port} and did not come up after running: ${svc.start}`,
  );
}

export async function ensureServices(names: readonly ServiceName[]): Promise<void> {
  await Promise.all(names.map((n) => ensureService(n)));
}
