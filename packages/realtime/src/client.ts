/**
 * @walstream/realtime/client: the browser (and Node 22+) client. No dependencies; reconnects with exponential
 * backoff and jitter, and resubscribes every topic after a reconnect. Delivery is best-effort: after a reconnect,
 * reload the data you show (a snapshot) and apply events from there.
 *
 * ```js
 * import { createRealtimeClient } from '@walstream/realtime/client';
 * const rt = createRealtimeClient({ url: 'ws://localhost:4000/realtime', token: () => fetchToken() });
 * const off = rt.subscribe('realtime:p1:orders', (payload) => render(payload.record), { filter: 'status=eq.paid' });
 * ```
 */

/** What a subscription receives. */
export interface RealtimePayload {
  /** `schema.table`. */
  table: string;
  action: 'INSERT' | 'UPDATE' | 'DELETE';
  /** The new row (masked for your role); null for DELETE. */
  record: Record<string, unknown> | null;
  /** The old row when the server has it (UPDATE with REPLICA IDENTITY FULL, DELETE). */
  old_record?: Record<string, unknown>;
  /** Commit time, ISO 8601. */
  timestamp: string;
}

export interface RealtimeErrorFrame {
  type: 'error';
  topic?: string;
  code: string;
  message: string;
}

export type RealtimeClientStatus = 'connecting' | 'open' | 'closed';

/** The subset of the WebSocket API the client uses (the browser's, Node 22's, or `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface RealtimeClientOptions {
  /** The endpoint, e.g. `ws://localhost:4000/realtime`. */
  url: string;
  /** The JWT, or a function returning a fresh one (called on every connect, so an expired token is replaced). */
  token: string | (() => string | Promise<string>);
  /** First reconnect delay; doubles per failed attempt, with jitter. @default 500 */
  minReconnectDelayMs?: number;
  /** @default 10_000 */
  maxReconnectDelayMs?: number;
  /** A WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: new (
    url: string,
  ) => WebSocketLike;
  /** Connection status changes; `closeCode` is the server's close code when a connection ends. @default none */
  onStatus?: (status: RealtimeClientStatus, closeCode?: number) => void;
  /** Error frames that belong to no subscription with its own `onError`. @default none */
  onError?: (frame: RealtimeErrorFrame) => void;
}

export interface SubscribeOptions {
  /** Row filter, e.g. `status=eq.completed`. @default none (every row) */
  filter?: string;
  /** Called on every `subscribed` answer, so after each reconnect too: reload your snapshot here. @default none */
  onSubscribed?: () => void;
  /** Error frames for this topic (e.g. `forbidden`). @default the client's `onError` */
  onError?: (frame: RealtimeErrorFrame) => void;
}

export interface RealtimeClient {
  /** Subscribes (now, and again after every reconnect); one handler per topic (subscribing again replaces it). Returns a function that unsubscribes. */
  subscribe(
    topic: string,
    onEvent: (payload: RealtimePayload, topic: string) => void,
    options?: SubscribeOptions,
  ): () => void;
  /** Sends a fresh token to extend the session (with a token function, it is called when `token` is omitted). */
  refresh(token?: string): Promise<void>;
  readonly status: RealtimeClientStatus;
  /** Closes for good: no reconnect. */
  close(): void;
}

/** Close codes after which reconnecting with the same static token cannot help. */
const TOKEN_EXPIRED = 4001;
const OPEN = 1;
/** The server's default auth.clockToleranceSec. */
const EXP_TOLERANCE_MS = 5_000;

/**
 * Whether a JWT's `exp` has passed (read, not verified: the server verifies). The server refuses an expired token
 * with HTTP 401 before the handshake, which a browser sees only as close code 1006, the same as a server that is
 * down: a fixed token is checked here instead, or the client would retry it forever.
 */
function expired(jwt: string): boolean {
  try {
    const part = jwt.split('.')[1] ?? '';
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as { exp?: unknown };
    // Past the server's default clock tolerance too: a token the server may still take is tried.
    return typeof claims.exp === 'number' && claims.exp * 1000 + EXP_TOLERANCE_MS <= Date.now();
  } catch {
    return false; // not a JWT we can read: the server decides
  }
}

interface Sub {
  onEvent: (payload: RealtimePayload, topic: string) => void;
  options: SubscribeOptions;
}

export function createRealtimeClient(options: RealtimeClientOptions): RealtimeClient {
  const found = options.WebSocket ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (found === undefined) throw new Error('no WebSocket implementation: pass options.WebSocket');
  const Ctor = found;
  const minDelay = options.minReconnectDelayMs ?? 500;
  const maxDelay = options.maxReconnectDelayMs ?? 10_000;
  const subs = new Map<string, Sub>();
  let ws: WebSocketLike | null = null;
  let status: RealtimeClientStatus = 'closed';
  let attempt = 0;
  let stopped = false;
  /** Stopped for a fixed token that expired: only refresh(token) connects again. */
  let halted = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const setStatus = (s: RealtimeClientStatus, code?: number) => {
    status = s;
    options.onStatus?.(s, code);
  };
  const token = async () => (typeof options.token === 'function' ? options.token() : options.token);
  const send = (msg: object) => {
    if (ws !== null && ws.readyState === OPEN) ws.send(JSON.stringify(msg));
  };
  const sendSubscribe = (topic: string, sub: Sub) =>
    send(
      sub.options.filter === undefined
        ? { type: 'subscribe', topic }
        : { type: 'subscribe', topic, filter: sub.options.filter },
    );

  const onFrame = (text: string) => {
    let f: { type?: string; topic?: string; payload?: RealtimePayload };
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    const sub = typeof f.topic === 'string' ? subs.get(f.topic) : undefined;
    if (f.type === 'event' && sub !== undefined && f.payload !== undefined) sub.onEvent(f.payload, f.topic as string);
    else if (f.type === 'subscribed') sub?.options.onSubscribed?.();
    else if (f.type === 'error') {
      const frame = f as unknown as RealtimeErrorFrame;
      if (sub?.options.onError) sub.options.onError(frame);
      else options.onError?.(frame);
    }
  };

  const schedule = () => {
    if (stopped) return;
    const base = Math.min(maxDelay, minDelay * 2 ** attempt);
    attempt++;
    timer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
  };

  async function connect() {
    timer = undefined;
    if (stopped) return;
    if (typeof options.token === 'string' && expired(options.token)) {
      // Retrying cannot help until refresh(token) brings a new one.
      halted = true;
      setStatus('closed', TOKEN_EXPIRED);
      options.onError?.({
        type: 'error',
        code: 'token_expired',
        message: 'the token has expired: pass a new one to refresh(), or a token function',
      });
      return;
    }
    setStatus('connecting');
    let url: string;
    try {
      const t = await token();
      url = `${options.url}${options.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`;
    } catch {
      schedule(); // before onStatus, as in onclose
      setStatus('closed');
      return;
    }
    if (stopped) return;
    const socket = new Ctor(url);
    ws = socket;
    socket.onopen = () => {
      attempt = 0;
      setStatus('open');
      for (const [topic, sub] of subs) sendSubscribe(topic, sub);
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') onFrame(ev.data);
    };
    socket.onerror = () => {
      // 'close' follows and schedules the reconnect.
    };
    socket.onclose = (ev) => {
      if (ws === socket) ws = null;
      // Decided before onStatus runs: a refresh() called from it must see whether a reconnect is already due.
      if (ev.code === TOKEN_EXPIRED && typeof options.token === 'string') halted = true;
      else schedule();
      setStatus('closed', ev.code);
    };
  }

  // Not in this call: an expired token is reported once the caller holds the client.
  timer = setTimeout(connect, 0);

  return {
    subscribe(topic, onEvent, subOptions = {}) {
      const sub: Sub = { onEvent, options: subOptions };
      subs.set(topic, sub);
      sendSubscribe(topic, sub);
      return () => {
        if (subs.get(topic) !== sub) return;
        subs.delete(topic);
        send({ type: 'unsubscribe', topic });
      };
    },
    async refresh(fresh) {
      const t = fresh ?? (await token());
      if (typeof options.token === 'string') options.token = t;
      if (halted && !stopped) {
        // Stopped by an expired fixed token: start again with the new one.
        halted = false;
        attempt = 0;
        void connect();
      } else send({ type: 'refresh', token: t });
    },
    get status() {
      return status;
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      ws?.close(1000, 'client closed');
    },
  };
}
