import { type ChangeEvent, parseOptions, type Route } from '@walstream/core';
import { v } from '@walstream/core/internal';

export interface NatsStreamOptions {
  /** Stream name. */
  name: string;
  /** Subjects the stream captures. @default ['cdc.>'] */
  subjects?: string[];
  /** @default 'file' */
  storage?: 'file' | 'memory';
  /** Msg-Id deduplication window. @default 120000 (2 minutes, the server's default) */
  duplicateWindowMs?: number;
  /** @default 'limits' */
  retention?: 'limits' | 'interest' | 'workqueue';
  /** Oldest message kept; 0 keeps forever. @default 0 */
  maxAgeMs?: number;
  /** Create the stream when it is missing (else a missing stream is an error at open). @default true */
  create?: boolean;
}

export interface NatsSinkOptions {
  /**
   * `host:port`, several for a cluster. Credentials in a URL (`nats://user:pass@host:4222`, `nats://token@host`)
   * are passed to nats.js as user/pass or token and never appear in the sink name, logs or errors.
   */
  servers: string | string[];
  /** Subject per event: a template (`{database}`, `{schema}`, `{table}`, `{operation}` lower case, `{OPERATION}`) or a function. @default 'cdc.{table}.{operation}' */
  subject?: Route;
  /** `event`: one message per event (Nats-Msg-Id = event id); `batch`: several events per message. @default 'event' */
  mode?: 'event' | 'batch';
  /** Batch mode: events per message. @default 500 */
  batchMaxEvents?: number;
  /** Batch mode: payload bytes per message (before compression). @default 262144 (256 KiB) */
  batchMaxBytes?: number;
  /** Payload as canonical JSON instead of MessagePack. @default false */
  json?: boolean;
  /** Compress payloads with zstd (needs the optional @bokuweb/zstd-wasm package). @default 'none' */
  compression?: 'none' | 'zstd';
  /** Verify or create this stream at open. @default none (the stream must exist) */
  stream?: NatsStreamOptions;
  /** KV bucket receiving each table's schema (key `schema.table`); false turns it off. @default 'schemas' */
  schemaBucket?: string | false;
  /** PubAck timeout per message. @default 5000 */
  ackTimeoutMs?: number;
  /**
   * Messages published and not yet acknowledged, across writes (independent of the pipeline's batch size);
   * more wait their turn, in order. @default 1000
   */
  maxPendingAcks?: number;
  /** Pipeline writes (batches) under way at once; they complete in order (see the README). @default 4 */
  writesInFlight?: number;
  /** Connection name, user, pass, token, tls...: passed to nats.js `connect`. */
  connection?: Record<string, unknown>;
  /**
   * Source identity put before every Msg-Id (`<sourceId>:<event id>`), so the same `LSN:index` from another
   * cluster or timeline is not dropped as a duplicate. @default the reader's (`<system identifier>.<timeline>`
   * for Postgres) when the pipeline provides one, else none (Msg-Id = event id)
   */
  sourceId?: string;
  /**
   * Event mode: builds each message's payload instead of the canonical envelope (e.g. another system's message
   * shape); compression and Msg-Ids apply as usual. @default the canonical envelope (MessagePack, or JSON with `json`)
   */
  encode?: (event: ChangeEvent) => Uint8Array;
  /** Content-Type header with a custom `encode`. @default 'application/msgpack' ('application/json' with `json`) */
  contentType?: string;
  /** @default `nats:<first server>` without any user, password or token in it */
  name?: string;
}

const schema = v
  .object({
    servers: v.union([v.string().min(1), v.array(v.string().min(1)).min(1)]),
    subject: v.union([v.string().min(1), v.custom<(e: unknown) => string>((x) => typeof x === 'function')]).optional(),
    mode: v.enum(['event', 'batch']).optional(),
    batchMaxEvents: v.number().int().positive().optional(),
    batchMaxBytes: v.number().int().positive().optional(),
    json: v.boolean().optional(),
    compression: v.enum(['none', 'zstd']).optional(),
    stream: v
      .object({
        name: v.string().regex(/^[^.*>\s]+$/, 'stream names cannot contain . * > or spaces'),
        subjects: v.array(v.string().min(1)).min(1).optional(),
        storage: v.enum(['file', 'memory']).optional(),
        duplicateWindowMs: v.number().int().positive().optional(),
        retention: v.enum(['limits', 'interest', 'workqueue']).optional(),
        maxAgeMs: v.number().int().nonnegative().optional(),
        create: v.boolean().optional(),
      })
      .optional(),
    schemaBucket: v
      .union([v.string().regex(/^[-\w]+$/, 'bucket names are letters, digits, - and _'), v.literal(false)])
      .optional(),
    ackTimeoutMs: v.number().int().positive().optional(),
    maxPendingAcks: v.number().int().positive().optional(),
    writesInFlight: v.number().int().positive().max(64).optional(),
    connection: v.record(v.unknown()).optional(),
    encode: v.custom<(e: ChangeEvent) => Uint8Array>((x) => typeof x === 'function', 'must be a function').optional(),
    contentType: v
      .string()
      .regex(/^[^\r\n]+$/, 'a header value cannot contain CR or LF')
      .optional(),
    sourceId: v
      .string()
      .regex(/^[-\w.]+$/, 'letters, digits, -, _ and . only')
      .optional(),
    name: v.string().min(1).optional(),
  })
  .refine((o) => o.encode === undefined || (o.mode ?? 'event') === 'event', {
    message: 'a custom encode works in event mode only',
    path: ['encode'],
  });

/** A server URL without its user info (`nats://user:pass@host` -> `nats://host`): for names, logs and errors. */
export function redactServer(server: string): string {
  return server.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/]*@/i, '$1');
}

/**
 * User info in a server URL as nats.js connect options (nats.js does not read it from the URL):
 * `user:pass@` gives user and pass, a lone `token@` gives token.
 */
export function credentialsFrom(servers: readonly string[]): Record<string, string> {
  for (const s of servers) {
    const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^@/]*)@/i.exec(s);
    if (!m) continue;
    const info = m[1] as string;
    const colon = info.indexOf(':');
    if (colon < 0) return { token: decodeURIComponent(info) };
    return { user: decodeURIComponent(info.slice(0, colon)), pass: decodeURIComponent(info.slice(colon + 1)) };
  }
  return {};
}

export function resolveNatsOptions(input: NatsSinkOptions) {
  const o = parseOptions(schema, input, 'nats') as NatsSinkOptions;
  const servers = typeof o.servers === 'string' ? [o.servers] : o.servers;
  return {
    servers,
    subject: o.subject ?? 'cdc.{table}.{operation}',
    mode: o.mode ?? 'event',
    batchMaxEvents: o.batchMaxEvents ?? 500,
    batchMaxBytes: o.batchMaxBytes ?? 256 * 1024,
    json: o.json ?? false,
    compression: o.compression ?? 'none',
    stream: o.stream,
    schemaBucket: o.schemaBucket ?? 'schemas',
    ackTimeoutMs: o.ackTimeoutMs ?? 5000,
    maxPendingAcks: o.maxPendingAcks ?? 1000,
    writesInFlight: o.writesInFlight ?? 4,
    connection: o.connection ?? {},
    sourceId: o.sourceId ?? null,
    encode: o.encode,
    contentType: o.contentType,
    name: o.name ?? `nats:${redactServer(servers[0] as string)}`,
  };
}

export type ResolvedNatsOptions = ReturnType<typeof resolveNatsOptions>;
