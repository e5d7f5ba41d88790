/**
 * A TCP proxy for fault tests: put it between a client and a server (Postgres, a broker, a database) and break
 * the network on purpose, which killing a backend or a process cannot imitate.
 *
 * ```ts
 * const p = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
 * const url = `postgres://postgres@127.0.0.1:${p.port}/db`; // the client connects through the proxy
 * p.cut();                    // reset: both ends see the connection close
 * p.cut({ side: 'client' });  // the client sees it close; the server sees nothing (a half-open connection)
 * p.stall();                  // a silent partition: sockets stay open, nothing moves (held, not lost)
 * p.resume();                 // held bytes flow again, in order
 * p.delay(200);               // every chunk from now on arrives 200 ms late
 * p.dropAfter(4096);          // each open connection is cut after 4096 more bytes (both directions)
 * p.cut({ connection: p.connectionIds[0] }); // only that one (e.g. the replication connection), others go on
 * p.refuse();                 // new connections are closed at once (reconnects fail); open ones untouched
 * p.refuse(false);
 * p.retarget('127.0.0.1', 5433); // new connections go to another server (a failover)
 * p.drop('client'); p.cut(); p.drop(null); // answers lost (the server did the work), then the link resets
 * await p.close();
 * ```
 *
 * New connections are accepted in every state; they follow the current stall and delay settings.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpProxyOptions {
  /** Where the proxy forwards to. */
  host: string;
  port: number;
  /** Interface the proxy listens on. @default '127.0.0.1' */
  listenHost?: string;
}

export interface TcpProxy {
  /** Where clients connect. */
  readonly host: string;
  readonly port: number;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Ordinals (1 = first accepted) of the connections open now, oldest first. */
  readonly connectionIds: readonly number[];
  /**
   * Destroys the open connections. `side: 'both'` (default) closes both ends. `side: 'client'` closes only the
   * client's end; the server's end stays open and silent (whatever the server sends is discarded), as after a
   * network cut the server never heard of. `connection` limits the cut to the open connection with that ordinal
   * (see `connectionIds`); connections opened later are never affected.
   */
  cut(opts?: { side?: 'both' | 'client'; connection?: number }): void;
  /** While on, new connections are accepted and closed at once (a partition reconnects cannot cross). @default on */
  refuse(on?: boolean): void;
  /** New connections go to this server from now on (a failover moving a virtual IP); open ones are untouched. */
  retarget(host: string, port: number): void;
  /** Stop forwarding in both directions, keep every socket open; bytes are held until `resume()`. */
  stall(): void;
  /**
   * Discard (not hold) every byte travelling to that side from now on, sockets kept open; null ends it. The
   * stream the receiving side parses is then broken mid-message, so follow it with `cut()`: e.g. the server stored
   * a publish whose acknowledgement never arrives, then the link resets.
   */
  drop(to: 'client' | 'server' | null): void;
  /**
   * Pass every chunk going to that side through `fn` (per connection: its ordinal) and forward what it returns;
   * it may hold bytes back (return less) to rewrite whole protocol messages. Set it before the connections open
   * so `fn` sees each stream from its first byte. null ends it.
   */
  transform(to: 'client' | 'server', fn: ((data: Buffer, connection: number) => Buffer) | null): void;
  /** Forward again (held bytes first). Also ends `delay`. */
  resume(): void;
  /** Deliver every chunk `ms` later than it arrived (order kept). 0 turns it off. */
  delay(ms: number): void;
  /** Cut each open connection (both ends) once `bytes` more bytes have passed through it, in either direction. */
  dropAfter(bytes: number): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

interface Pair {
  /** Accept ordinal, from 1. */
  id: number;
  client: Socket;
  server: Socket;
  /** Bytes still allowed through before the pair is cut; null = unlimited. */
  budget: number | null;
  /** The client end was cut; the server end is kept open and its data discarded. */
  halfOpen: boolean;
  /** Chunks waiting (stall or delay), in arrival order. */
  held: { to: 'client' | 'server'; data: Buffer; due: number }[];
  timer: ReturnType<typeof setTimeout> | null;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let stalled = false;
  let dropTo: 'client' | 'server' | null = null;
  let rewrite: { to: 'client' | 'server'; fn: (data: Buffer, connection: number) => Buffer } | null = null;
  let delayMs = 0;
  let accepted = 0;
  let refusing = false;

  const destroy = (p: Pair) => {
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    p.held = [];
    p.client.destroy();
    p.server.destroy();
    pairs.delete(p);
  };

  const write = (p: Pair, to: 'client' | 'server', data: Buffer) => {
    if (p.halfOpen) return;
    let chunk = data;
    if (p.budget !== null) {
      if (chunk.length >= p.budget) {
        chunk = chunk.subarray(0, p.budget);
        p.budget = 0;
      } else p.budget -= chunk.length;
    }
    if (chunk.length > 0) (to === 'client' ? p.client : p.server).write(chunk);
    if (p.budget === 0) destroy(p);
  };

  /** Sends what is due from the held queue, in order; re-arms a timer for the rest. */
  const pump = (p: Pair) => {
    if (p.timer !== null) {
      clearTimeout(p.timer);
      p.timer = null;
    }
    if (stalled) return;
    const now = Date.now();
    while (p.held.length > 0 && pairs.has(p)) {
      const h = p.held[0] as Pair['held'][number];
      if (h.due > now) {
        p.timer = setTimeout(() => pump(p), h.due - now);
        return;
      }
      p.held.shift();
      write(p, h.to, h.data);
    }
  };

  const forward = (p: Pair, to: 'client' | 'server', data: Buffer) => {
    if (p.halfOpen || dropTo === to) return;
    if (rewrite !== null && rewrite.to === to) {
      data = rewrite.fn(data, p.id);
      if (data.length === 0) return;
    }
    if (!stalled && delayMs === 0 && p.held.length === 0) {
      write(p, to, data);
      return;
    }
    p.held.push({ to, data: Buffer.from(data), due: Date.now() + delayMs });
    if (p.timer === null) pump(p);
  };

  let target = { host: options.host, port: options.port };
  const server: Server = createServer((client) => {
    accepted++;
    if (refusing) {
      client.on('error', () => {});
      client.destroy();
      return;
    }
    const upstream = tcpConnect(target);
    const p: Pair = { id: accepted, client, server: upstream, budget: null, halfOpen: false, held: [], timer: null };
    pairs.add(p);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d) => forward(p, 'server', d));
    upstream.on('data', (d) => forward(p, 'client', d));
    // A close on one side is passed on (unless the pair is half-open on purpose).
    client.on('close', () => {
      if (!p.halfOpen) destroy(p);
    });
    upstream.on('close', () => destroy(p));
    client.on('error', () => {});
    upstream.on('error', () => {});
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.listenHost ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    host: options.listenHost ?? '127.0.0.1',
    port,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    get connectionIds() {
      return [...pairs].map((p) => p.id);
    },
    retarget(host, port) {
      target = { host, port };
    },
    refuse(on = true) {
      refusing = on;
    },
    cut(opts = {}) {
      for (const p of [...pairs]) {
        if (opts.connection !== undefined && p.id !== opts.connection) continue;
        if (opts.side === 'client') {
          p.halfOpen = true;
          p.held = [];
          if (p.timer !== null) clearTimeout(p.timer);
          p.timer = null;
          p.client.destroy();
          // Keep reading the server's end so its sends never block: the server only learns by its own timeout.
          p.server.resume();
        } else destroy(p);
      }
    },
    transform(to, fn) {
      rewrite = fn === null ? null : { to, fn };
    },
    drop(to) {
      dropTo = to;
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      delayMs = 0;
      for (const p of pairs) {
        for (const h of p.held) h.due = 0;
        pump(p);
      }
    },
    delay(ms) {
      delayMs = Math.max(0, ms);
    },
    dropAfter(bytes) {
      const n = Math.max(0, Math.floor(bytes));
      for (const p of [...pairs]) {
        if (n === 0) destroy(p);
        else p.budget = n;
      }
    },
    async close() {
      for (const p of [...pairs]) destroy(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
