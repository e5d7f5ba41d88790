/** Shared by the RabbitMQ tests: the machine's broker, a proxy in front of it, rabbitmqctl. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { type ChangeEvent, decodeEventJson } from '@walstream/core';
import type amqp from 'amqplib';

/** An exchange with a queue bound to every key; `drain` returns everything the queue delivered so far. */
export async function boundQueue(
  admin: amqp.Channel,
  exchange: string,
): Promise<{ queue: string; drain: () => Promise<ChangeEvent[]> }> {
  await admin.assertExchange(exchange, 'topic', { durable: true });
  const q = await admin.assertQueue('', { exclusive: true });
  await admin.bindQueue(q.queue, exchange, '#');
  const seen: ChangeEvent[] = [];
  return {
    queue: q.queue,
    async drain() {
      for (;;) {
        const m = await admin.get(q.queue, { noAck: true });
        if (m === false) return seen;
        if (!m.properties.messageId) throw new Error('a message without message_id');
        seen.push(decodeEventJson(m.content.toString('utf8')));
      }
    },
  };
}

export const unique = () => `t${randomBytes(4).toString('hex')}`;

/** A TCP proxy to the broker that can hold back everything the broker sends (so confirms never arrive). */
export async function holdingProxy(): Promise<{
  url: string;
  hold(on: boolean): void;
  /** While on, new connections are cut at once (the broker looks unreachable). */
  refuse(on: boolean): void;
  /** Forwards only the next `bytes` bytes the client sends, then cuts that connection (a publish torn midway). */
  cutAfterClientBytes(bytes: number): void;
  /** Has the broker close (connection-forced) the connections that came through this proxy, and only those. */
  brokerCloses(): void;
  close(): Promise<void>;
}> {
  let held = false;
  let refusing = false;
  let budget: number | null = null;
  const pairs: { client: Socket; broker: Socket; queued: Buffer[] }[] = [];
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const broker = createConnection(5672, '127.0.0.1');
    const pair = { client, broker, queued: [] as Buffer[] };
    pairs.push(pair);
    client.on('data', (d: Buffer) => {
      if (budget === null) {
        broker.write(d);
        return;
      }
      const n = Math.min(budget, d.length);
      budget -= n;
      broker.write(d.subarray(0, n));
      if (budget > 0) return;
      budget = null;
      client.destroy();
      broker.end(); // what was forwarded reaches the broker, then the connection ends
    });
    broker.on('data', (d) => (held ? pair.queued.push(d) : client.write(d)));
    const end = () => {
      client.destroy();
      if (broker.writableEnded) return; // a cut: let the forwarded bytes drain first
      broker.destroy();
    };
    client.on('error', end).on('close', end);
    broker.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    hold(on) {
      held = on;
      if (!on) for (const p of pairs) for (const d of p.queued.splice(0)) p.client.write(d);
    },
    refuse(on) {
      refusing = on;
    },
    cutAfterClientBytes(bytes) {
      budget = bytes;
    },
    brokerCloses() {
      const ports = new Set(pairs.map((p) => String(p.broker.localPort)));
      for (const line of rabbitmqctl('list_connections', 'pid', 'peer_port', '--no-table-headers', '-q').split('\n')) {
        const [pid, port] = line.trim().split(/\s+/);
        if (pid && port && ports.has(port)) rabbitmqctl('close_connection', pid, 'walstream fault test');
      }
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.broker.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Settles within `ms` or reports that it hung (instead of hanging the test). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'hung'> {
  return Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);
}

export function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
