/**
 * One instance's clients and subscriptions, and the fan-out of envelopes to them. Fan-out never waits on a socket:
 * a frame is serialized once per (topic, role) per event and queued on each socket; a client whose queue passes
 * `maxBufferedBytes` is dropped (close code 4002) so one slow reader never holds back the others or Redis.
 */
import type { Logger } from '@walstream/core';
import type { WebSocket } from 'ws';
import type { Claims, Verifier } from './auth.js';
import { parseRowFilter, type RowPredicate } from './filter.js';
import type { RealtimeRole, RealtimeStats } from './options.js';
import { CloseCode, FrameErrorCode } from './options.js';
import type { Envelope } from './payload.js';
import { eventKeys, type ParsedTopic, parseTopic, subscriptionKey } from './topics.js';

interface Subscription {
  readonly client: Client;
  readonly topic: string;
  readonly key: string;
  readonly filter: RowPredicate | null;
}

interface Client {
  readonly ws: WebSocket;
  claims: Claims;
  readonly subs: Map<string, Subscription>;
  expiry: NodeJS.Timeout | undefined;
  alive: boolean;
  dropped: boolean;
}

export interface HubLimits {
  readonly maxSubscriptionsPerClient: number;
  readonly maxBufferedBytes: number;
  readonly dedupWindow: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Characters of a refused topic echoed in an error reply (valid topics are far shorter). */
const MAX_ECHO = 256;

function mayAccess(claims: Claims, t: ParsedTopic): boolean {
  return t.kind === 'global' ? claims.role === 'admin' : claims.projects.has(t.project);
}

export class Hub {
  readonly clients = new Set<Client>();
  private readonly index = new Map<string, Set<Subscription>>();
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private seenHead = 0;
  readonly stats: RealtimeStats = {
    connections: 0,
    subscriptions: 0,
    published: 0,
    delivered: 0,
    duplicatesSkipped: 0,
    slowClientsDropped: 0,
  };

  constructor(
    private readonly limits: HubLimits,
    private readonly verify: Verifier,
    private readonly logger: Logger,
  ) {}

  attach(ws: WebSocket, claims: Claims): void {
    const client: Client = { ws, claims, subs: new Map(), expiry: undefined, alive: true, dropped: false };
    this.clients.add(client);
    this.stats.connections++;
    this.armExpiry(client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (client.dropped) return;
      if (isBinary) {
        this.error(client, undefined, FrameErrorCode.InvalidMessage, 'frames are JSON text');
        return;
      }
      this.onMessage(client, data.toString()).catch((err) =>
        this.logger.warn('realtime: message handling failed', { error: String(err) }),
      );
    });
    ws.on('close', () => this.detach(client));
    ws.on('error', () => {
      // A socket error is followed by 'close'; nothing to add.
    });
  }

  /** Terminates the clients that did not answer the previous ping, pings the others. */
  heartbeat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.close(CloseCode.DeadPeer, 'no pong');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  closeAll(code: number, reason: string): void {
    for (const c of this.clients) c.ws.close(code, reason);
  }

  terminateAll(): void {
    for (const c of this.clients) c.ws.terminate();
  }

  /** Sends each envelope to every matching subscription of this instance, once per event id. */
  deliver(envelopes: readonly Envelope[]): void {
    for (const env of envelopes) {
      if (this.remember(env.id)) {
        this.stats.duplicatesSkipped++;
        continue;
      }
      let frames: Map<string, Buffer> | undefined;
      let records: Map<RealtimeRole, Record<string, unknown> | null> | undefined;
      for (const key of eventKeys(env.project, env.table)) {
        const subs = this.index.get(key);
        if (subs === undefined) continue;
        for (const sub of subs) {
          const client = sub.client;
          if (client.dropped) continue;
          const role = client.claims.role;
          const payload = role === 'admin' && env.admin !== undefined ? env.admin : env.user;
          if (sub.filter !== null) {
            records ??= new Map();
            let rec = records.get(role);
            if (rec === undefined) {
              const p = JSON.parse(payload) as {
                record: Record<string, unknown> | null;
                old_record?: Record<string, unknown>;
              };
              rec = p.record ?? p.old_record ?? null;
              records.set(role, rec);
            }
            if (!sub.filter(rec)) continue;
          }
          frames ??= new Map();
          const fk = `${role}\u0000${sub.topic}`;
          let frame = frames.get(fk);
          if (frame === undefined) {
            frame = Buffer.from(`{"type":"event","topic":${JSON.stringify(sub.topic)},"payload":${payload}}`);
            frames.set(fk, frame);
          }
          this.send(client, frame);
          this.stats.delivered++;
        }
      }
    }
  }

  private send(client: Client, frame: Buffer): void {
    client.ws.send(frame, { binary: false });
    if (client.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      client.dropped = true;
      this.stats.slowClientsDropped++;
      this.unsubscribeAll(client);
      // The close frame queues behind what is buffered; ws destroys the socket if the handshake does not
      // finish within its close timeout, so the memory held is bounded by the limit plus one frame.
      client.ws.close(CloseCode.SlowClient, 'slow client');
    }
  }

  private remember(id: string): boolean {
    if (this.seen.has(id)) return true;
    const window = this.limits.dedupWindow;
    if (window <= 0) return false;
    if (this.seenOrder.length < window) this.seenOrder.push(id);
    else {
      this.seen.delete(this.seenOrder[this.seenHead] as string);
      this.seenOrder[this.seenHead] = id;
      this.seenHead = (this.seenHead + 1) % window;
    }
    this.seen.add(id);
    return false;
  }

  /** A reply: under the same send-buffer limit as events, or a client that never reads grows it without end. */
  private frame(client: Client, value: Record<string, unknown>): void {
    if (!client.dropped) this.send(client, Buffer.from(JSON.stringify(value)));
  }

  private error(client: Client, topic: unknown, code: FrameErrorCode, message: string): void {
    // The topic is echoed so a client can match the answer, cut short: a reply never carries a client's 60 KB back.
    const echo = typeof topic === 'string' && topic.length > MAX_ECHO ? `${topic.slice(0, MAX_ECHO)}...` : topic;
    this.frame(
      client,
      typeof echo === 'string' ? { type: 'error', topic: echo, code, message } : { type: 'error', code, message },
    );
  }

  private async onMessage(client: Client, text: string): Promise<void> {
    let msg: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      msg = v as Record<string, unknown>;
    } catch {
      this.error(client, undefined, FrameErrorCode.InvalidMessage, 'frames are JSON objects with a `type`');
      return;
    }
    switch (msg.type) {
      case 'subscribe':
        return this.subscribe(client, msg.topic, msg.filter);
      case 'unsubscribe':
        return this.unsubscribe(client, msg.topic);
      case 'refresh':
        return this.refresh(client, msg.token);
      case 'ping':
        return this.frame(client, { type: 'pong' });
      default:
        this.error(client, msg.topic, FrameErrorCode.InvalidMessage, 'unknown message type');
        return;
    }
  }

  private subscribe(client: Client, topic: unknown, filterText: unknown): void {
    const parsed = parseTopic(topic);
    if (parsed === null) {
      this.error(
        client,
        topic,
        FrameErrorCode.InvalidTopic,
        'topics are realtime:<project>:<table>, realtime:<project>:* or realtime:global:<table>',
      );
      return;
    }
    const name = topic as string;
    if (!mayAccess(client.claims, parsed)) {
      const why = parsed.kind === 'global' ? 'global topics are for admins' : 'project not in the token';
      this.error(client, name, FrameErrorCode.Forbidden, why);
      return;
    }
    if (!client.subs.has(name) && client.subs.size >= this.limits.maxSubscriptionsPerClient) {
      this.error(
        client,
        name,
        FrameErrorCode.TooManySubscriptions,
        `at most ${this.limits.maxSubscriptionsPerClient} subscriptions per connection`,
      );
      return;
    }
    let filter: RowPredicate | null = null;
    if (filterText !== undefined && filterText !== null) {
      try {
        filter = parseRowFilter(filterText);
      } catch (err) {
        this.error(client, name, FrameErrorCode.InvalidFilter, (err as Error).message);
        return;
      }
    }
    this.remove(client, name);
    const sub: Subscription = { client, topic: name, key: subscriptionKey(parsed), filter };
    client.subs.set(name, sub);
    let set = this.index.get(sub.key);
    if (set === undefined) {
      set = new Set();
      this.index.set(sub.key, set);
    }
    set.add(sub);
    this.stats.subscriptions++;
    this.frame(client, { type: 'subscribed', topic: name });
  }

  private unsubscribe(client: Client, topic: unknown): void {
    if (typeof topic !== 'string' || !this.remove(client, topic)) {
      this.error(client, topic, FrameErrorCode.NotSubscribed, 'not subscribed to this topic');
      return;
    }
    this.frame(client, { type: 'unsubscribed', topic });
  }

  private remove(client: Client, topic: string): boolean {
    const sub = client.subs.get(topic);
    if (sub === undefined) return false;
    client.subs.delete(topic);
    const set = this.index.get(sub.key);
    set?.delete(sub);
    if (set?.size === 0) this.index.delete(sub.key);
    this.stats.subscriptions--;
    return true;
  }

  private unsubscribeAll(client: Client): void {
    for (const topic of [...client.subs.keys()]) this.remove(client, topic);
  }

  private async refresh(client: Client, token: unknown): Promise<void> {
    let claims: Claims;
    try {
      if (typeof token !== 'string') throw new Error('no token');
      claims = await this.verify(token);
    } catch {
      // The current session keeps its own expiry.
      this.error(client, undefined, FrameErrorCode.InvalidToken, 'refresh token refused');
      return;
    }
    if (client.dropped || !this.clients.has(client)) return;
    client.claims = claims;
    this.armExpiry(client);
    for (const [topic, sub] of [...client.subs]) {
      const parsed = parseTopic(sub.topic);
      if (parsed !== null && !mayAccess(claims, parsed)) {
        this.remove(client, topic);
        this.error(client, topic, FrameErrorCode.Forbidden, 'the refreshed token no longer grants this topic');
      }
    }
    this.frame(client, { type: 'refreshed', exp: claims.expMs === undefined ? null : Math.floor(claims.expMs / 1000) });
  }

  private armExpiry(client: Client): void {
    clearTimeout(client.expiry);
    client.expiry = undefined;
    const expMs = client.claims.expMs;
    if (expMs === undefined) return;
    const fire = () => {
      const left = expMs - Date.now();
      if (left > 0) {
        client.expiry = setTimeout(fire, Math.min(left, MAX_TIMER_MS));
        return;
      }
      this.unsubscribeAll(client);
      client.ws.close(CloseCode.TokenExpired, 'token expired');
    };
    fire();
  }

  private detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    clearTimeout(client.expiry);
    this.unsubscribeAll(client);
    this.stats.connections--;
  }
}
