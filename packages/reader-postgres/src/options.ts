import { type Logger, parseOptions } from '@walstream/core';
import { v } from '@walstream/core/internal';
import type { ClientConfig } from 'pg';
import {
  type ResolvedSnapshotOptions,
  resolveSnapshotOptions,
  type SnapshotOptions,
  snapshotOptionsSchema,
} from './snapshot/options.js';

export interface HeartbeatOptions {
  /** Emit a transactional heartbeat message this often, so an idle database's slot still advances. */
  intervalMs: number;
  /** Message prefix; heartbeat messages are never delivered as events. @default 'walstream.heartbeat' */
  prefix?: string;
}

export interface ReconnectOptions {
  /** Attempts before the reader fails; Infinity retries forever. @default Infinity */
  maxAttempts?: number;
  /** @default 200 */
  initialDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
}

export interface PostgresReaderOptions {
  /** `postgres://user:pass@host:port/db`. Either this or `connection`. */
  connectionString?: string;
  /** node-postgres client settings (host, port, user, password, database, ssl, ...). */
  connection?: ClientConfig;
  /** Replication slot name. Created (permanent) when missing. */
  slot: string;
  /** Publication name. Created for `tables` when missing; must exist when `tables` is not given. */
  publication: string;
  /** Tables to publish (`schema.table` or `table` in `public`). Missing ones are added to the publication. */
  tables?: string[];
  /** pgoutput protocol version 1-4. @default the highest the server supports (PG14: 2, PG15: 3, PG16+: 4) */
  protocolVersion?: 1 | 2 | 3 | 4;
  /** Ask pgoutput for binary values (faster for some types; every column type must have a binary decoder). @default false */
  binary?: boolean;
  /** Deliver logical decoding messages (pg_logical_emit_message) as MESSAGE events. @default false */
  messages?: boolean;
  /**
   * Let the server stream large in-progress transactions (protocol 2+). walstream buffers them, spilling to
   * disk past `streamMemoryBytes`, and delivers them only when they commit. @default true when protocol >= 2
   */
  streaming?: boolean;
  /** Decode prepared transactions at PREPARE (protocol 3+, slot created with two_phase); delivered at COMMIT PREPARED. @default false */
  twoPhase?: boolean;
  /** Create the slot as temporary (dropped when the connection ends; only for throwaway use). @default false */
  temporarySlot?: boolean;
  /** Create the slot when it does not exist. @default true */
  createSlot?: boolean;
  /**
   * Create the slot as a failover slot (PostgreSQL 17+): a standby with `sync_replication_slots` keeps a copy,
   * so after its promotion the pipeline resumes there. Set `synchronized_standby_slots` on the primary too, or
   * the slot may confirm changes the standby never received. Applies when walstream creates the slot.
   * @default false
   */
  failover?: boolean;
  /** Send a standby status update this often (confirmed position only). @default 10000 */
  statusIntervalMs?: number;
  /** Transactional heartbeat through pg_logical_emit_message. @default off */
  heartbeat?: HeartbeatOptions;
  /** Memory for streamed or prepared transactions before they spill to disk. @default 33554432 (32 MiB) */
  streamMemoryBytes?: number;
  /** Folder for spill files. @default the OS temp folder */
  spillDir?: string;
  /**
   * Bytes of received frames queued for the consumer before the socket is paused (the kernel buffer and the server
   * hold the rest). Read-ahead beyond what the consumer takes only costs memory: frames that wait long enough are
   * promoted to V8's old generation and stay until a full collection (1M-row catch-up into NATS, event mode: 120-125
   * MB peak RSS with 256 KiB, 137-150 MB with 1 MiB; catch-up into a no-op sink 1.2-1.4x pg_recvlogical with either).
   * @default 262144 (256 KiB)
   */
  maxQueueBytes?: number;
  /** Reconnect after a lost connection (resuming from the slot). */
  reconnect?: ReconnectOptions;
  /**
   * Which changes to stream by replication origin: `'any'` (all), or `'none'` (only changes made locally, not
   * ones replayed from another node: what a bidirectional sync needs so it does not loop). `'none'` needs
   * PostgreSQL 16 or later. Events from a transaction with an origin carry its name in `origin`. @default 'any'
   */
  origin?: 'any' | 'none';
  /**
   * Warn (once per transaction, through `logger`) when a prepared transaction has waited this long for
   * COMMIT/ROLLBACK PREPARED: it holds confirmation back and so pins WAL. @default 300000 (5 minutes)
   */
  preparedWarningMs?: number;
  /** Copy existing rows (initial snapshot) and accept on-demand snapshots; see SnapshotOptions. */
  snapshot?: SnapshotOptions;
  logger?: Logger;
}

const identifier = v.string().min(1).max(63);

const schema = v
  .object({
    connectionString: v.string().min(1).optional(),
    connection: v.record(v.unknown()).optional(),
    slot: identifier.regex(/^[a-z0-9_]+$/, 'slot names may contain only lower-case letters, digits and underscores'),
    publication: identifier,
    tables: v.array(v.string().min(1)).min(1).optional(),
    protocolVersion: v.union([v.literal(1), v.literal(2), v.literal(3), v.literal(4)]).optional(),
    binary: v.boolean().optional(),
    messages: v.boolean().optional(),
    streaming: v.boolean().optional(),
    twoPhase: v.boolean().optional(),
    temporarySlot: v.boolean().optional(),
    createSlot: v.boolean().optional(),
    failover: v.boolean().optional(),
    statusIntervalMs: v.number().int().positive().optional(),
    heartbeat: v.object({ intervalMs: v.number().int().positive(), prefix: v.string().min(1).optional() }).optional(),
    streamMemoryBytes: v.number().int().positive().optional(),
    spillDir: v.string().min(1).optional(),
    maxQueueBytes: v.number().int().positive().optional(),
    reconnect: v
      .object({
        // Infinity is the documented way to retry forever (the default), so it is accepted besides whole numbers.
        maxAttempts: v
          .custom<number>(
            (x) => x === Number.POSITIVE_INFINITY || (typeof x === 'number' && Number.isInteger(x) && x > 0),
            'must be a positive whole number or Infinity',
          )
          .optional(),
        initialDelayMs: v.number().int().nonnegative().optional(),
        maxDelayMs: v.number().int().nonnegative().optional(),
      })
      .optional(),
    preparedWarningMs: v.number().int().nonnegative().optional(),
    origin: v.enum(['any', 'none']).optional(),
    logger: v.custom<Logger>((x) => typeof x === 'object' && x !== null, 'must be a Logger').optional(),
    snapshot: snapshotOptionsSchema.optional(),
  })
  .refine((o) => o.connectionString !== undefined || o.connection !== undefined, {
    message: 'give connectionString or connection',
    path: ['connectionString'],
  });

export type ResolvedReaderOptions = Omit<
  Required<PostgresReaderOptions>,
  | 'connectionString'
  | 'connection'
  | 'tables'
  | 'protocolVersion'
  | 'streaming'
  | 'heartbeat'
  | 'spillDir'
  | 'logger'
  | 'reconnect'
  | 'snapshot'
> & {
  client: ClientConfig;
  tables: string[] | undefined;
  protocolVersion: 1 | 2 | 3 | 4 | undefined;
  streaming: boolean | undefined;
  heartbeat: Required<HeartbeatOptions> | undefined;
  spillDir: string | undefined;
  logger: Logger | undefined;
  reconnect: Required<ReconnectOptions>;
  snapshot: ResolvedSnapshotOptions;
};

export function resolveReaderOptions(input: PostgresReaderOptions): ResolvedReaderOptions {
  const o = parseOptions(schema, input, 'postgres') as PostgresReaderOptions;
  const client: ClientConfig = { ...(o.connection ?? {}) };
  if (o.connectionString) client.connectionString = o.connectionString;
  return {
    client,
    slot: o.slot,
    publication: o.publication,
    tables: o.tables,
    protocolVersion: o.protocolVersion,
    binary: o.binary ?? false,
    messages: o.messages ?? false,
    streaming: o.streaming,
    twoPhase: o.twoPhase ?? false,
    temporarySlot: o.temporarySlot ?? false,
    createSlot: o.createSlot ?? true,
    failover: o.failover ?? false,
    statusIntervalMs: o.statusIntervalMs ?? 10_000,
    heartbeat: o.heartbeat
      ? { intervalMs: o.heartbeat.intervalMs, prefix: o.heartbeat.prefix ?? 'walstream.heartbeat' }
      : undefined,
    streamMemoryBytes: o.streamMemoryBytes ?? 32 << 20,
    spillDir: o.spillDir,
    maxQueueBytes: o.maxQueueBytes ?? 256 * 1024,
    reconnect: {
      maxAttempts: o.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY,
      initialDelayMs: o.reconnect?.initialDelayMs ?? 200,
      maxDelayMs: o.reconnect?.maxDelayMs ?? 10_000,
    },
    preparedWarningMs: o.preparedWarningMs ?? 300_000,
    origin: o.origin ?? 'any',
    logger: o.logger,
    snapshot: resolveSnapshotOptions(o.snapshot),
  };
}
