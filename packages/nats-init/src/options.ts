import type { ConnectionOptions } from '@nats-io/transport-node';
import { type Logger, parseOptions } from '@walstream/core';
import type { PostgresReader } from '@walstream/reader-postgres';
import type { NatsStreamOptions } from '@walstream/sink-nats';
import type { ClientConfig } from 'pg';
import { z } from 'zod';

export interface NatsInitOptions {
  /** NATS server(s), e.g. `127.0.0.1:4222`. */
  servers: string | string[];
  /** Extra nats.js connection options (user, pass, token, tls, ...). */
  connection?: Partial<ConnectionOptions>;
  /** The reader of the pipeline this runs beside; snapshots go through its `requestSnapshot`. */
  reader: PostgresReader;
  /** The reader's publication: its tables' schemas go to the KV bucket at start. */
  publication: string;
  /** The source database, for table schemas and the snapshot's starting LSN. Either this or `database`. */
  connectionString?: string;
  database?: ClientConfig;
  /** JetStream stream holding INIT messages, created when missing; false: it must exist. @default { name: 'INIT', subjects: ['init.>'] } */
  stream?: NatsStreamOptions | false;
  /** KV bucket for table schemas (key `schema.table`, value the TableSchema JSON); false: none. @default 'schemas' */
  schemaBucket?: string | false;
  /** Requests arrive on `{requestSubject}.{table}`. @default 'snapshot.request' */
  requestSubject?: string;
  /** Subject prefix: chunks on `{prefix}.snap.{table}.{snapshot_id}.{chunk}`, metadata on `{prefix}.meta.{table}`. @default 'init' */
  prefix?: string;
  /** JSON payloads instead of MessagePack. @default false */
  json?: boolean;
  /** Compress payloads (header `Content-Encoding: zstd`; needs @bokuweb/zstd-wasm). @default 'none' */
  compression?: 'none' | 'zstd';
  /** Rows per chunk. @default 10000 */
  chunkRows?: number;
  /**
   * The `table` field of chunks, metadata and replies: `schema.table`, or the bare table name as the reference
   * bridge sends it. @default 'qualified'
   */
  payloadTable?: 'qualified' | 'name';
  /** Milliseconds to wait for a JetStream PubAck. @default 10000 */
  ackTimeoutMs?: number;
  logger?: Logger;
}

const schema = z
  .object({
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    connection: z.record(z.string(), z.unknown()).optional(),
    reader: z.custom<PostgresReader>(
      (v) => typeof (v as { requestSnapshot?: unknown })?.requestSnapshot === 'function',
      'must be a PostgresReader (createPostgresReader)',
    ),
    publication: z.string().min(1),
    connectionString: z.string().min(1).optional(),
    database: z.record(z.string(), z.unknown()).optional(),
    stream: z.union([z.literal(false), z.object({ name: z.string().min(1) }).passthrough()]).optional(),
    schemaBucket: z.union([z.literal(false), z.string().min(1)]).optional(),
    requestSubject: z.string().min(1).optional(),
    prefix: z.string().min(1).optional(),
    json: z.boolean().optional(),
    compression: z.enum(['none', 'zstd']).optional(),
    chunkRows: z.number().int().positive().optional(),
    payloadTable: z.enum(['qualified', 'name']).optional(),
    ackTimeoutMs: z.number().int().positive().optional(),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'must be a Logger').optional(),
  })
  .strict()
  .refine((o) => o.connectionString !== undefined || o.database !== undefined, {
    message: 'give connectionString or database',
    path: ['connectionString'],
  });

export interface ResolvedNatsInitOptions {
  servers: string[];
  connection: Partial<ConnectionOptions>;
  reader: PostgresReader;
  publication: string;
  database: ClientConfig;
  stream: NatsStreamOptions | false;
  schemaBucket: string | false;
  requestSubject: string;
  prefix: string;
  json: boolean;
  compression: 'none' | 'zstd';
  chunkRows: number;
  payloadTable: 'qualified' | 'name';
  ackTimeoutMs: number;
  logger: Logger | undefined;
}

export function resolveNatsInitOptions(input: NatsInitOptions): ResolvedNatsInitOptions {
  const o = parseOptions(schema, input, 'natsInit') as NatsInitOptions;
  const database: ClientConfig = { ...(o.database ?? {}) };
  if (o.connectionString) database.connectionString = o.connectionString;
  const prefix = o.prefix ?? 'init';
  return {
    servers: Array.isArray(o.servers) ? o.servers : [o.servers],
    connection: o.connection ?? {},
    reader: o.reader,
    publication: o.publication,
    database,
    stream: o.stream === undefined ? { name: 'INIT', subjects: [`${prefix}.>`] } : o.stream,
    schemaBucket: o.schemaBucket ?? 'schemas',
    requestSubject: o.requestSubject ?? 'snapshot.request',
    prefix,
    json: o.json ?? false,
    compression: o.compression ?? 'none',
    chunkRows: o.chunkRows ?? 10_000,
    payloadTable: o.payloadTable ?? 'qualified',
    ackTimeoutMs: o.ackTimeoutMs ?? 10_000,
    logger: o.logger,
  };
}
