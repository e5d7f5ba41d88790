/**
 * `createRealtimeServer`: the WebSocket endpoint (ws, upgrade authenticated before the handshake completes), the
 * sink a pipeline writes to, and the Redis mesh between them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Batch, ConfigError, type Logger, type Sink, SinkError, silentLogger } from '@walstream/core';
import { WebSocketServer } from 'ws';
import { createVerifier, TokenError } from './auth.js';
import { Hub } from './hub.js';
import { Mesh } from './mesh.js';
import { CloseCode, DEFAULTS, type RealtimeServerOptions, type RealtimeStats } from './options.js';
import { type Envelope, projectResolver, roleMasks, toEnvelopes } from './payload.js';

export interface RealtimeServer {
  /** Add to a pipeline: its write resolves once Redis accepted the publish of every change in the batch. */
  readonly sink: Sink;
  /** Resolves when the endpoint listens and the Redis subscription is live; rejects if either fails. */
  readonly ready: Promise<void>;
  /** The port listened on (after `ready`); with `server`, that server's port. */
  readonly port: number;
  stats(): RealtimeStats;
  /** Closes every client (code 1001), the endpoint (not a `server` you passed) and the Redis connections. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function positiveInt(name: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min) throw new ConfigError(name, `expected an integer >= ${min}`);
  return v;
}

function reject(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function tokenOf(req: IncomingMessage, url: URL): string | null {
  const q = url.searchParams.get('token');
  if (q) return q;
  const h = req.headers.authorization;
  if (typeof h === 'string' && /^bearer /i.test(h)) return h.slice(7).trim() || null;
  return null;
}

export function createRealtimeServer(options: RealtimeServerOptions): RealtimeServer {
  if (options === undefined || typeof options !== 'object') throw new ConfigError('options', 'expected an object');
  if ((options.port === undefined) === (options.server === undefined)) {
    throw new ConfigError('port', 'give exactly one of port or server');
  }
  if (options.port !== undefined) positiveInt('port', options.port, 0, 0);
  if (typeof options.redis !== 'string') throw new ConfigError('redis', 'expected a redis:// URL');
  // Until a pipeline opens the sink (and hands over its logger), the given logger or silence.
  let current: Logger = options.logger ?? silentLogger;
  const logger: Logger = {
    debug: (m, f) => current.debug(m, f),
    info: (m, f) => current.info(m, f),
    warn: (m, f) => current.warn(m, f),
    error: (m, f) => current.error(m, f),
  };
  const path = options.path ?? DEFAULTS.path;
  const maxConnections = positiveInt('maxConnections', options.maxConnections, DEFAULTS.maxConnections);
  const pingIntervalMs = positiveInt('pingIntervalMs', options.pingIntervalMs, DEFAULTS.pingIntervalMs);
  const limits = {
    maxSubscriptionsPerClient: positiveInt(
      'maxSubscriptionsPerClient',
      options.maxSubscriptionsPerClient,
      DEFAULTS.maxSubscriptionsPerClient,
    ),
    maxBufferedBytes: positiveInt('maxBufferedBytes', options.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    dedupWindow: positiveInt('dedupWindow', options.dedupWindow, DEFAULTS.dedupWindow, 0),
  };
  const maxMessageBytes = positiveInt('maxMessageBytes', options.maxMessageBytes, DEFAULTS.maxMessageBytes);
  const verify = createVerifier(options.auth);
  const masks = roleMasks(options.mask);
  const resolveProject = projectResolver(options.projectColumn);
  const mesh = new Mesh(options.redis, options.channelPrefix ?? DEFAULTS.channelPrefix, logger);
  const hub = new Hub(limits, verify, logger);
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false });
  const ownServer = options.server === undefined;
  const http: Server =
    options.server ??
    createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket endpoint\n');
    });
  let closing = false;
  let pending = 0;
  const unroutedDeletes = new Set<string>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      if (ownServer) reject(socket, 404, 'Not Found');
      return;
    }
    socket.on('error', () => socket.destroy());
    if (closing) return reject(socket, 503, 'Service Unavailable');
    if (hub.clients.size + pending >= maxConnections) return reject(socket, 503, 'Service Unavailable');
    const token = tokenOf(req, url);
    if (token === null) return reject(socket, 401, 'Unauthorized');
    pending++;
    verify(token).then(
      (claims) => {
        pending--;
        if (socket.destroyed) return;
        if (closing) return reject(socket, 503, 'Service Unavailable');
        wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, claims));
      },
      (err) => {
        pending--;
        if (socket.destroyed) return;
        if (!(err instanceof TokenError)) logger.warn('realtime: token check failed', { error: String(err) });
        reject(socket, 401, 'Unauthorized');
      },
    );
  };
  http.on('upgrade', onUpgrade);

  const pinger = setInterval(() => hub.heartbeat(), pingIntervalMs);
  pinger.unref();

  const listening = ownServer
    ? new Promise<void>((resolve, rejectListen) => {
        http.once('error', rejectListen);
        http.listen(options.port, options.host, () => {
          http.off('error', rejectListen);
          resolve();
        });
      })
    : Promise.resolve();
  const ready = Promise.all([listening, mesh.subscribe((envs: Envelope[]) => hub.deliver(envs))]).then(() => {});
  ready.catch(() => {}); // observed by the caller through `server.ready`

  const sink: Sink = {
    name: options.name ?? 'realtime',
    async open(ctx) {
      if (options.logger === undefined && ctx?.logger) current = ctx.logger;
      await mesh.openPublisher();
    },
    async write(batch: Batch, opts) {
      if (closing) throw new SinkError('realtime server is closed');
      opts?.signal?.throwIfAborted();
      const envelopes: Envelope[] = [];
      for (const e of batch.events) {
        const [env, moved] = toEnvelopes(e, masks, resolveProject);
        if (env === undefined) continue;
        envelopes.push(env);
        if (moved !== undefined) envelopes.push(moved);
        else if (env.project === null && e.operation === 'DELETE' && !unroutedDeletes.has(env.table)) {
          unroutedDeletes.add(env.table);
          logger.warn('realtime: a DELETE has no project id and goes to the global topic only', {
            table: `${e.schema}.${e.table}`,
            hint: 'REPLICA IDENTITY FULL (or the project column in the key) puts it in the old row',
          });
        }
      }
      if (envelopes.length === 0) return;
      await mesh.publish(envelopes);
      hub.stats.published += envelopes.length;
    },
  };

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      clearInterval(pinger);
      http.off('upgrade', onUpgrade);
      await ready.catch(() => {});
      hub.closeAll(CloseCode.GoingAway, 'server closing');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1_000);
        const check = () => {
          if (hub.clients.size > 0) return void setTimeout(check, 20);
          clearTimeout(t);
          resolve();
        };
        check();
      });
      hub.terminateAll();
      wss.close();
      await mesh.close();
      if (ownServer && http.listening) {
        http.closeAllConnections?.();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    })();
    return closed;
  };

  return {
    sink,
    ready,
    get port() {
      const a = http.address();
      return a !== null && typeof a === 'object' ? a.port : 0;
    },
    stats: () => ({ ...hub.stats }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
