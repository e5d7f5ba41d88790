/** Shared by the integration tests: tokens, servers on a private Redis channel prefix, and a frame-recording client. */
import { randomBytes } from 'node:crypto';
import type { Batch, ChangeEvent } from '@walstream/core';
import { type MakeEventInput, makeEvent } from '@walstream/core/testing';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { createRealtimeServer, type RealtimeServer, type RealtimeServerOptions } from '../src/index.js';

export const REDIS = 'redis://127.0.0.1:6379';
export const SECRET = 'realtime-test-secret-0123456789abcdef';

/** A channel prefix no other test run or helper shares. */
export function uniquePrefix(): string {
  return `realtime-test-${randomBytes(6).toString('hex')}:`;
}

export interface TokenInput {
  projects?: string[];
  role?: string;
  /** Seconds from now; null = no exp claim. @default 3600 */
  expiresIn?: number | null;
  secret?: string;
}

export async function token(input: TokenInput = {}): Promise<string> {
  const claims: Record<string, unknown> = { projects: input.projects ?? ['p1'] };
  if (input.role !== undefined) claims.role = input.role;
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (input.expiresIn !== null) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (input.expiresIn ?? 3600));
  return jwt.sign(new TextEncoder().encode(input.secret ?? SECRET));
}

const open: RealtimeServer[] = [];

export async function startServer(prefix: string, extra: Partial<RealtimeServerOptions> = {}): Promise<RealtimeServer> {
  const server = createRealtimeServer({
    port: 0,
    host: '127.0.0.1',
    redis: REDIS,
    channelPrefix: prefix,
    auth: { secret: SECRET },
    ...extra,
  });
  open.push(server);
  await server.ready;
  return server;
}

export async function closeServers(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close()));
}

export function batchOf(events: ChangeEvent[], seq = 1): Batch {
  return { seq, events, commits: [], schemaChanges: [], bytes: 0 };
}

let lsn = 0x10000n;
/** Events with fresh ids (the servers remember recent ids and skip repeats). */
export function events(rows: MakeEventInput[]): ChangeEvent[] {
  lsn += 0x100n;
  return rows.map((r, index) => makeEvent({ lsn, index, ...r }));
}

export async function write(server: RealtimeServer, evs: ChangeEvent[]): Promise<void> {
  await server.sink.write(batchOf(evs), { signal: new AbortController().signal });
}

export interface Frame {
  type: string;
  topic?: string;
  code?: string;
  message?: string;
  payload?: {
    table: string;
    action: string;
    record: Record<string, unknown> | null;
    old_record?: Record<string, unknown>;
    timestamp: string;
  };
}

/** A test client that records every frame (raw text too, for leak checks). */
export class Recorder {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  closeCode: number | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const text = d.toString();
      this.raw.push(text);
      this.frames.push(JSON.parse(text));
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `test` holds, checked after every frame; rejects after `timeoutMs`. */
  until(test: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; frames: ${this.raw.slice(-5).join(' | ')}`)),
        timeoutMs,
      );
      const check = () => {
        if (test()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  events(topic?: string): Frame[] {
    return this.frames.filter((f) => f.type === 'event' && (topic === undefined || f.topic === topic));
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Subscribes and waits for the answer (`subscribed` or `error`). */
  async subscribe(topic: string, filter?: string): Promise<Frame> {
    const seen = this.frames.length;
    this.send(filter === undefined ? { type: 'subscribe', topic } : { type: 'subscribe', topic, filter });
    let answer: Frame | undefined;
    await this.until(() => {
      answer = this.frames
        .slice(seen)
        .find((f) => (f.type === 'subscribed' || f.type === 'error') && f.topic === topic);
      return answer !== undefined;
    }, `an answer to subscribe ${topic}`);
    return answer as Frame;
  }

  closed(): Promise<number> {
    return this.until(() => this.closeCode !== undefined, 'close').then(() => this.closeCode as number);
  }
}

export function connect(
  server: RealtimeServer,
  tok: string | null,
  headers: Record<string, string> = {},
): Promise<Recorder> {
  const url = `ws://127.0.0.1:${server.port}/realtime${tok === null ? '' : `?token=${encodeURIComponent(tok)}`}`;
  const ws = new WebSocket(url, { headers });
  const rec = new Recorder(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(rec));
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

/** The HTTP status of a refused upgrade. */
export async function upgradeStatus(
  server: RealtimeServer,
  tok: string | null,
  headers: Record<string, string> = {},
): Promise<number> {
  try {
    const rec = await connect(server, tok, headers);
    rec.ws.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}
