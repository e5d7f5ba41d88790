/**
 * HTTP telemetry on node:http, bound to 127.0.0.1 by default:
 * GET /metrics (Prometheus text), /health (liveness), /ready (every pipeline streaming, no sink stuck),
 * /status (JSON), POST /shutdown (graceful; bearer token required when bound beyond loopback),
 * POST /snapshot {pipeline?, tables} (an on-demand snapshot, when the reader supports it).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpConfig } from '../config/schema.js';

export interface HttpHandlers {
  metrics(): Promise<{ contentType: string; body: string }>;
  health(): { ok: boolean; detail: unknown };
  ready(): { ok: boolean; detail: unknown };
  status(): unknown;
  shutdown(): void;
  snapshot(body: { pipeline?: string; tables?: string[] }): Promise<{ status: number; body: unknown }>;
}

export interface TelemetryServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, jsonReplacer, 2)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

/** bigint as string, errors as { code, message } (messages never carry row values). */
export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return { name: v.name, code: (v as { code?: string }).code, message: v.message };
  return v;
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const got = Buffer.from(String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A request the client got wrong: answered with its status, not 500. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : {};
  } catch {
    // Not the parser's message: it quotes the body.
    throw new HttpError(400, 'the body is not JSON; expected {"pipeline"?: string, "tables": string[]}');
  }
}

export async function startTelemetry(config: HttpConfig, handlers: HttpHandlers): Promise<TelemetryServer> {
  if (!isLoopback(config.host) && !config.shutdownToken) {
    throw new Error(`http.shutdownToken is required when http.host (${config.host}) is not a loopback address`);
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    void (async () => {
      switch (route) {
        case 'GET /metrics': {
          const m = await handlers.metrics();
          return send(res, 200, m.body, m.contentType);
        }
        case 'GET /health': {
          const h = handlers.health();
          return send(res, h.ok ? 200 : 503, { status: h.ok ? 'ok' : 'failing', ...(h.detail as object) });
        }
        case 'GET /ready': {
          const r = handlers.ready();
          return send(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', ...(r.detail as object) });
        }
        case 'GET /status':
          return send(res, 200, handlers.status());
        case 'POST /shutdown':
          if (!authorized(req, config.shutdownToken)) return send(res, 401, { error: 'bearer token required' });
          send(res, 202, { status: 'shutting down' });
          return handlers.shutdown();
        case 'POST /snapshot': {
          if (!authorized(req, config.shutdownToken)) return send(res, 401, { error: 'bearer token required' });
          const body = (await readJson(req)) as { pipeline?: string; tables?: string[] };
          const r = await handlers.snapshot(body);
          return send(res, r.status, r.body);
        }
        default:
          return send(res, 404, {
            error: 'not found',
            endpoints: ['/metrics', '/health', '/ready', '/status', 'POST /shutdown', 'POST /snapshot'],
          });
      }
    })().catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof HttpError) {
        send(res, err.status, { error: err.message });
        // What the client did not get to send is not read: close rather than drain it.
        if (err.status === 413) res.once('finish', () => req.destroy());
      } else send(res, 500, { error: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
