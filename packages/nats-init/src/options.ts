import type { ConnectionOptions } from '@nats-io/transport-node';
import { type Logger, parseOptions } from '@walstream/core';
import { v } from '@walstream/core/internal';
import type { PostgresReader } from '@walstream/reader-postgres';
import type { NatsStreamOptions } from '@walstream/sink-nats';
import type { ClientConfig } from 'pg';

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

const schema = v
  .object({
    servers: v.union([v.string().min(1), v.array(v.string().min(1)).min(1)]),
    connection: v.record(v.unknown()).optional(),
    reader: v.custom<PostgresReader>(
      (x) => typeof (x as { requestSnapshot?: unknown })?.requestSnapshot === 'function',
      'must be a PostgresReader (createPostgresReader)',
    ),
    publication: v.string().min(1),
    connectionString: v.string().min(1).optional(),
    database: v.record(v.unknown()).optional(),
    stream: v.union([v.literal(false), v.looseObject({ name: v.string().min(1) })]).optional(),
    schemaBucket: v.union([v.literal(false), v.string().min(1)]).optional(),
    requestSubject: v.string().min(1).optional(),
    prefix: v.string().min(1).optional(),
    json: v.boolean().optional(),
    compression: v.enum(['none', 'zstd']).optional(),
    chunkRows: v.number().int().positive().optional(),
    payloadTable: v.enum(['qualified', 'name']).optional(),
    ackTimeoutMs: v.number().int().positive().optional(),
    logger: v.custom<Logger>((x) => typeof x === 'object' && x !== null, 'must be a Logger').optional(),
  })
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
