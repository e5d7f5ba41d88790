/**
 * Publishes each event to a RabbitMQ exchange on a confirm channel: persistent, `mandatory`, message_id = event id.
 * A write resolves when the broker has confirmed every message; a nack or a returned (unroutable) message fails it.
 * A lost channel or connection is reopened on the next write (the pipeline retries with backoff). A write that does
 * not finish within `confirmTimeoutMs`, is aborted, or whose connection the broker blocks (resource alarm) fails as
 * retriable and drops the connection: its confirms can no longer be trusted to arrive.
 */
import {
  type Batch,
  type ChangeEvent,
  compileRoute,
  ErrorCode,
  encodeEventJson,
  encodeEventMsgpack,
  parseOptions,
  type Route,
  type Sink,
  SinkError,
  WalstreamError,
} from '@walstream/core';
import { v } from '@walstream/core/internal';
import amqp from 'amqplib';

export interface RabbitMqSinkOptions {
  /** `amqp://user:pass@host:port/vhost`. */
  url: string;
  /** Exchange name; a template or function for one exchange per table. @default 'walstream' */
  exchange?: Route;
  /** Type of exchanges declared by the sink. @default 'topic' */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers';
  /** Declare (durable) exchanges before publishing to them. @default true */
  declareExchange?: boolean;
  /** Routing key: template (`{schema}`, `{table}`, `{operation}` lower case, ...) or function. @default '{schema}.{table}.{operation}' */
  routingKey?: Route;
  /** Body as MessagePack instead of canonical JSON. @default false */
  msgpack?: boolean;
  /** How long a write may wait for the broker (connect, declare, publish, confirms) before it fails as retriable. @default 30000 */
  confirmTimeoutMs?: number;
  /** @default `rabbitmq:<host>` */
  name?: string;
}

const route = v.union([v.string().min(1), v.custom<(e: ChangeEvent) => string>((x) => typeof x === 'function')]);
const schema = v.object({
  url: v.string().regex(/^amqps?:\/\//, 'must start with amqp:// or amqps://'),
  exchange: route.optional(),
  exchangeType: v.enum(['topic', 'direct', 'fanout', 'headers']).optional(),
  declareExchange: v.boolean().optional(),
  routingKey: route.optional(),
  msgpack: v.boolean().optional(),
  confirmTimeoutMs: v.number().int().positive().optional(),
  name: v.string().min(1).optional(),
});

/** Routing-key words are separated by dots; a table named `a.b` or `#` must not change the key's shape. */
export function routingWord(part: string): string {
  return part.replace(/[.*#\s]/g, '_') || '_';
}

export function createRabbitMqSink(options: RabbitMqSinkOptions): Sink {
  const o = parseOptions(schema, options, 'rabbitmq') as RabbitMqSinkOptions;
  const host = new URL(o.url.replace(/^amqps?:/, 'http:')).host;
  const name = o.name ?? `rabbitmq:${host}`;
  const exchangeOf = compileRoute(o.exchange ?? 'walstream', routingWord);
  const keyOf = compileRoute(o.routingKey ?? '{schema}.{table}.{operation}', routingWord);
  const declare = o.declareExchange ?? true;
  const contentType = o.msgpack ? 'application/msgpack' : 'application/json';
  let conn: amqp.ChannelModel | null = null;
  let ch: amqp.ConfirmChannel | null = null;
  let broken: Error | null = null;
  /** Set while the broker blocks the connection (connection.blocked, e.g. a memory or disk alarm). */
  let blocked: string | null = null;
  let onBlocked: ((reason: string) => void) | null = null;
  const timeoutMs = o.confirmTimeoutMs ?? 30_000;
  let closed = false;
  const declared = new Set<string>();
  const returned = new Set<string>();

  async function channel(): Promise<amqp.ConfirmChannel> {
    if (ch !== null && broken === null) return ch;
    await reset();
    try {
      const m = await amqp.connect(o.url);
      conn = m;
      // Events of a connection given up on (its close may come late, after a destroyed socket) must not mark
      // the connection that replaced it.
      const current = () => conn === m;
      m.on('error', (err: Error) => {
        if (current()) broken = err;
      });
      m.on('close', () => {
        if (current()) broken ??= new Error('connection closed');
      });
      m.on('blocked', (reason: unknown) => {
        if (!current()) return;
        blocked = typeof reason === 'string' && reason !== '' ? reason : 'resource alarm';
        onBlocked?.(blocked);
      });
      m.on('unblocked', () => {
        if (current()) blocked = null;
      });
      const c = await m.createConfirmChannel();
      c.on('error', (err: Error) => {
        if (current()) broken = err;
      });
      c.on('close', () => {
        if (current()) broken ??= new Error('channel closed');
      });
      c.on('return', (msg: amqp.ConsumeMessage) => {
        if (current() && msg.properties.messageId) returned.add(String(msg.properties.messageId));
      });
      broken = null;
      declared.clear();
      ch = c;
      return c;
    } catch (err) {
      await reset();
      throw new SinkError(`cannot connect to RabbitMQ at ${host}`, { retriable: true, cause: err });
    }
  }

  async function reset(): Promise<void> {
    const c = conn;
    conn = null;
    ch = null;
    blocked = null;
    if (c === null) return;
    // A blocked or unresponsive broker never answers Connection.Close: give it a moment, then drop the socket.
    const closed = c.close().then(
      () => true,
      () => true,
    );
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([closed, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 1000)))]);
    clearTimeout(timer);
    if (!done) (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  /**
   * Runs a write's work, failing it (retriable) on timeout, abort, or a blocked connection. The work itself cannot be
   * cancelled: the connection is marked broken so the next write starts on a new one.
   */
  async function guarded(work: Promise<void>, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: () => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      const fail = (message: string) => {
        broken ??= new Error(message);
        reject(new SinkError(message, { retriable: true }));
      };
      timer = setTimeout(() => fail(`RabbitMQ did not confirm the batch within ${timeoutMs} ms`), timeoutMs);
      onAbort = () => fail('RabbitMQ write aborted while waiting for confirms');
      signal.addEventListener('abort', onAbort, { once: true });
      onBlocked = (reason) => fail(`RabbitMQ blocked the connection (${reason}); the write will be retried`);
      if (blocked !== null) onBlocked(blocked);
    });
    work.catch(() => {}); // it may settle after `failed` won the race
    try {
      await Promise.race([work, failed]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      onBlocked = null;
    }
  }

  return {
    name,
    async open() {
      closed = false;
      await channel();
    },
    async write(batch: Batch, { signal }) {
      if (closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${name} is closed`);
      if (batch.events.length === 0) return;
      if (signal.aborted) throw new SinkError('RabbitMQ write aborted', { retriable: true });
      await guarded(publish(batch), signal);
    },
    async close() {
      closed = true;
      await reset();
    },
  };

  async function publish(batch: Batch): Promise<void> {
    const c = await channel();
    returned.clear();
    try {
      for (const e of batch.events) {
        const exchange = exchangeOf(e);
        if (declare && !declared.has(exchange)) {
          await c.assertExchange(exchange, o.exchangeType ?? 'topic', { durable: true });
          declared.add(exchange);
        }
        const body = o.msgpack ? Buffer.from(encodeEventMsgpack(e)) : Buffer.from(encodeEventJson(e));
        // publish() returning false only means the socket buffer is full; confirms below still cover it.
        c.publish(exchange, keyOf(e), body, {
          persistent: true,
          mandatory: true,
          messageId: e.id,
          contentType,
          type: e.operation,
          timestamp: Math.floor(Date.parse(e.timestamp) / 1000) || undefined,
        });
      }
      await c.waitForConfirms();
    } catch (err) {
      if (ch === c) broken ??= err as Error;
      throw new SinkError(`RabbitMQ did not confirm the batch (${(err as Error).message ?? 'nack'})`, {
        retriable: true,
        cause: err,
      });
    }
    if (broken !== null)
      throw new SinkError('RabbitMQ channel closed during the write', { retriable: true, cause: broken });
    if (returned.size > 0) {
      const first = batch.events.find((e) => returned.has(e.id)) as ChangeEvent;
      throw new SinkError(
        `RabbitMQ returned ${returned.size} unroutable message(s), e.g. exchange ${exchangeOf(first)} routing key ${keyOf(first)}: no queue is bound for it`,
        { retriable: true },
      );
    }
  }
}
