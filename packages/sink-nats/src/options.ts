import { parseOptions, type Route } from '@walstream/core';
import { z } from 'zod';

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
  /** `host:port`, several for a cluster. */
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
  /** Connection name, user, pass, token, tls...: passed to nats.js `connect`. */
  connection?: Record<string, unknown>;
  /** @default `nats:<first server>` */
  name?: string;
}

const schema = z
  .object({
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    subject: z.union([z.string().min(1), z.custom<(e: unknown) => string>((v) => typeof v === 'function')]).optional(),
    mode: z.enum(['event', 'batch']).optional(),
    batchMaxEvents: z.number().int().positive().optional(),
    batchMaxBytes: z.number().int().positive().optional(),
    json: z.boolean().optional(),
    compression: z.enum(['none', 'zstd']).optional(),
    stream: z
      .object({
        name: z.string().regex(/^[^.*>\s]+$/, 'stream names cannot contain . * > or spaces'),
        subjects: z.array(z.string().min(1)).min(1).optional(),
        storage: z.enum(['file', 'memory']).optional(),
        duplicateWindowMs: z.number().int().positive().optional(),
        retention: z.enum(['limits', 'interest', 'workqueue']).optional(),
        maxAgeMs: z.number().int().nonnegative().optional(),
        create: z.boolean().optional(),
      })
      .strict()
      .optional(),
    schemaBucket: z
      .union([z.string().regex(/^[-\w]+$/, 'bucket names are letters, digits, - and _'), z.literal(false)])
      .optional(),
    ackTimeoutMs: z.number().int().positive().optional(),
    connection: z.record(z.string(), z.unknown()).optional(),
    name: z.string().min(1).optional(),
  })
  .strict();

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
    connection: o.connection ?? {},
    name: o.name ?? `nats:${servers[0]}`,
  };
}

export type ResolvedNatsOptions = ReturnType<typeof resolveNatsOptions>;
