/**
 * The Redis mesh. The instance whose pipeline reads the slot publishes every change once, to the channel
 * `<prefix>realtime:<project>:<table>` (`<prefix>realtime:global:<table>` when the event has no project). Every
 * instance, the publisher included, pattern-subscribes to `<prefix>realtime:*` and fans out only what Redis brings,
 * so each client, whichever instance it is connected to, sees each event once.
 */
import { createClient, type RedisClientType } from '@redis/client';
import { ConfigError, type Logger, SinkError } from '@walstream/core';
import type { Envelope } from './payload.js';
import { parseEnvelopes } from './payload.js';

/** Envelopes per Redis message: one PUBLISH carries several events of the same channel. */
const MAX_PER_MESSAGE = 256;

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** CLIENT SETNAME value: names the connection in CLIENT LIST (no spaces allowed there). */
function connectionName(role: string, prefix: string): string {
  const tag = prefix.replace(/[^A-Za-z0-9:_.-]/g, '_').slice(0, 100);
  return tag.length > 0 ? `walstream-realtime-${role}:${tag}` : `walstream-realtime-${role}`;
}

function redisClient(url: string, prefix: string, logger: Logger, role: string): RedisClientType {
  let connectedOnce = false;
  const client = createClient({
    url,
    name: connectionName(role, prefix),
    // Without a connection a publish must fail at once (the pipeline retries the batch), not queue in memory.
    disableOfflineQueue: role === 'publisher',
    socket: {
      connectTimeout: 5_000,
      // Give up on a first connection after a few tries so `ready` rejects; once up, keep reconnecting.
      reconnectStrategy: (retries, cause) => {
        if (!connectedOnce && retries >= 3) return cause;
        return Math.min(100 * 2 ** Math.min(retries, 5), 2_000);
      },
    },
  }) as RedisClientType;
  client.on('ready', () => {
    connectedOnce = true;
  });
  client.on('error', (err: Error) => logger.warn(`realtime: redis ${role} error`, { error: err.message }));
  return client;
}

export class Mesh {
  private publisher: RedisClientType | null = null;
  private publisherReady: Promise<RedisClientType> | null = null;
  private subscriber: RedisClientType | null = null;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    try {
      const u = new URL(url);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
    } catch (err) {
      throw new ConfigError('redis', 'expected a redis:// or rediss:// URL', { cause: err });
    }
  }

  async subscribe(onEnvelopes: (envelopes: Envelope[]) => void): Promise<void> {
    const sub = redisClient(this.url, this.prefix, this.logger, 'subscriber');
    this.subscriber = sub;
    await sub.connect();
    await sub.pSubscribe(`${escapeGlob(this.prefix)}realtime:*`, (message) => {
      const envelopes = parseEnvelopes(message);
      if (envelopes === null) {
        this.logger.warn('realtime: ignored a Redis message that is not a walstream envelope');
        return;
      }
      onEnvelopes(envelopes);
    });
  }

  private connectPublisher(): Promise<RedisClientType> {
    if (this.publisherReady === null) {
      const pub = redisClient(this.url, this.prefix, this.logger, 'publisher');
      this.publisher = pub;
      this.publisherReady = pub.connect().then(
        () => pub,
        (err) => {
          this.publisherReady = null;
          this.publisher = null;
          throw err;
        },
      );
    }
    return this.publisherReady;
  }

  async openPublisher(): Promise<void> {
    try {
      await this.connectPublisher();
    } catch (err) {
      throw new SinkError('cannot connect to Redis', { cause: err, retriable: true });
    }
  }

  /** Resolves once Redis accepted every PUBLISH. */
  async publish(envelopes: readonly Envelope[]): Promise<void> {
    let pub: RedisClientType;
    try {
      pub = await this.connectPublisher();
    } catch (err) {
      throw new SinkError('cannot connect to Redis', { cause: err, retriable: true });
    }
    // Consecutive events of one channel share a message; a change of channel starts a new one, so messages leave
    // in position order and a wildcard subscriber sees a project's tables in commit order.
    const sends: Promise<unknown>[] = [];
    let channel = '';
    let run: Envelope[] = [];
    const flush = () => {
      if (run.length > 0) sends.push(pub.publish(channel, JSON.stringify(run)));
      run = [];
    };
    for (const e of envelopes) {
      const c = `${this.prefix}realtime:${e.project ?? 'global'}:${e.table}`;
      if (c !== channel || run.length >= MAX_PER_MESSAGE) {
        flush();
        channel = c;
      }
      run.push(e);
    }
    flush();
    try {
      await Promise.all(sends);
    } catch (err) {
      throw new SinkError('Redis refused a publish', { cause: err, retriable: true });
    }
  }

  async close(): Promise<void> {
    const clients = [this.subscriber, this.publisher];
    this.subscriber = null;
    this.publisher = null;
    this.publisherReady = null;
    await Promise.all(
      clients.map(async (c) => {
        if (c === null || !c.isOpen) return;
        try {
          await c.close();
        } catch {
          c.destroy();
        }
      }),
    );
  }
}
