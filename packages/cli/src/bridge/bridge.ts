/**
 * `walstream nats`: a drop-in for the reference Postgres -> NATS bridge. Same environment variables, same CDC
 * subjects (`cdc.{table}.{operation}`) and payload shape, schemas in the `schemas` KV bucket at startup, snapshot
 * requests on `snapshot.request.{table}` answered with `init.snap.*` chunks and `init.meta.*` (through
 * @walstream/nats-init), and the same HTTP endpoints. What walstream adds: the slot is confirmed only once
 * JetStream acknowledged every message before it, and Msg-Ids are unique per source cluster and timeline.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { type Batch, filterSink, type Sink, type SinkWriteOptions } from '@walstream/core';
import { createNatsInit } from '@walstream/nats-init';
import { createPostgresReader } from '@walstream/reader-postgres';
import { createNatsSink, schemaKey } from '@walstream/sink-nats';
import pg from 'pg';
import type { PipelineSection } from '../config/schema.js';
import type { ServiceLogger } from '../service/log.js';
import { type RunningService, startPipelines } from '../service/service.js';
import { type BridgeSchema, bridgeSubject, createBridgeEncoder, encodeBridgeSchema } from './payload.js';

export interface BridgeOptions {
  slot: string;
  publication: string;
  /** HTTP telemetry port. @default 9090 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** JSON payloads instead of MessagePack. @default false */
  json: boolean;
  /** zstd-compressed payloads. @default false */
  zstd: boolean;
  env: NodeJS.ProcessEnv;
  logger: ServiceLogger;
}

/** The bridge's environment variables, as connection settings. Passwords stay in these objects only. */
export function bridgeConnections(env: NodeJS.ProcessEnv): {
  pg: pg.ClientConfig;
  nats: { servers: string; connection: Record<string, string> };
} {
  const connection: Record<string, string> = {};
  if (env.NATS_BRIDGE_USER) connection.user = env.NATS_BRIDGE_USER;
  if (env.NATS_BRIDGE_PASSWORD) connection.pass = env.NATS_BRIDGE_PASSWORD;
  return {
    pg: {
      host: env.PG_HOST || '127.0.0.1',
      port: Number(env.PG_PORT || 5432),
      database: env.PG_DB || 'postgres',
      user: env.POSTGRES_BRIDGE_USER || 'postgres',
      ...(env.POSTGRES_BRIDGE_PASSWORD ? { password: env.POSTGRES_BRIDGE_PASSWORD } : {}),
    },
    nats: { servers: `${env.NATS_HOST || '127.0.0.1'}:${env.NATS_PORT || 4222}`, connection },
  };
}

const COLUMNS = `
SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS name, c.ordinal_position::int AS position,
  c.data_type, c.is_nullable = 'YES' AS is_nullable, c.column_default
FROM pg_publication_tables p
JOIN information_schema.columns c ON c.table_schema = p.schemaname AND c.table_name = p.tablename
WHERE p.pubname = $1 ORDER BY c.table_schema, c.table_name, c.ordinal_position`;

/** The publication's tables in the bridge's schema shape (information_schema, as the bridge reads it). */
export async function bridgeSchemas(config: pg.ClientConfig, publication: string): Promise<BridgeSchema[]> {
  const client = new pg.Client({ ...config, application_name: 'walstream-bridge' });
  client.on('error', () => {});
  await client.connect();
  try {
    const rows = (await client.query(COLUMNS, [publication])).rows as (BridgeSchema['columns'][number] & {
      schema: string;
      table: string;
    })[];
    const out = new Map<string, BridgeSchema>();
    const now = Math.floor(Date.now() / 1000);
    for (const r of rows) {
      const key = `${r.schema}.${r.table}`;
      let s = out.get(key);
      if (!s) {
        s = { table: r.table, schema: key, timestamp: now, columns: [] };
        out.set(key, s);
      }
      s.columns.push({
        name: r.name,
        position: r.position,
        data_type: r.data_type,
        is_nullable: r.is_nullable,
        column_default: r.column_default,
      });
    }
    return [...out.values()];
  } finally {
    await client.end().catch(() => {});
  }
}

/** KV key of a table: its name as the bridge uses it, encoded only when it holds characters KV keys cannot. */
export function bridgeSchemaKey(schema: string, table: string): string {
  return /^[-/_=a-zA-Z0-9]+$/.test(table) ? table : schemaKey(schema, table).split('.').slice(1).join('.');
}

/** Lets `onBatch` see each batch (its schema items) before the wrapped sink writes it. */
function observed(sink: Sink, onBatch: (b: Batch) => void): Sink {
  const write = (batch: Batch, opts: SinkWriteOptions) => {
    onBatch(batch);
    return sink.write(batch, opts);
  };
  return new Proxy(sink, {
    get(target, prop) {
      if (prop === 'write') return write;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export async function startBridge(o: BridgeOptions): Promise<RunningService> {
  const { pg: pgConfig, nats } = bridgeConnections(o.env);
  const log = o.logger.child({ pipeline: 'bridge' });
  const reader = createPostgresReader({ connection: pgConfig, slot: o.slot, publication: o.publication, logger: log });
  const relations = new Map<string, number>();
  const cdc = createNatsSink({
    servers: nats.servers,
    connection: nats.connection,
    subject: bridgeSubject,
    encode: createBridgeEncoder(o.json, (schema, table) => relations.get(`${schema}.${table}`) ?? null),
    contentType: o.json ? 'application/json' : 'application/msgpack',
    compression: o.zstd ? 'zstd' : 'none',
    stream: { name: 'CDC', subjects: ['cdc.>'] },
    schemaBucket: false,
  });
  // Snapshot rows go to INIT only (nats-init), never to the CDC stream.
  const cdcSink = observed(filterSink(cdc, { operations: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] }), (b) => {
    for (const sc of b.schemaChanges) relations.set(`${sc.schema.schema}.${sc.schema.table}`, sc.schema.relationId);
  });
  const init = createNatsInit({
    servers: nats.servers,
    connection: nats.connection,
    reader,
    publication: o.publication,
    database: pgConfig,
    json: o.json,
    compression: o.zstd ? 'zstd' : 'none',
    schemaBucket: false,
    payloadTable: 'name',
    logger: log,
  });
  const section = {
    name: 'bridge',
    source: { connection: pgConfig, slot: o.slot, publication: o.publication },
    sinks: [],
  } as unknown as PipelineSection;
  const service = await startPipelines(
    [{ section, options: { name: 'bridge', reader, sinks: [cdcSink, init.sink], logger: log } }],
    { http: { host: o.host, port: o.port }, monitor: {}, onStopped: () => init.close() },
    { logger: o.logger },
  );
  try {
    await publishSchemas(pgConfig, nats, o);
    await init.start();
  } catch (err) {
    await service.stop();
    throw err;
  }
  log.info('bridge ready', {
    slot: o.slot,
    publication: o.publication,
    format: o.json ? 'json' : 'msgpack',
    zstd: o.zstd,
  });
  return service;
}

async function publishSchemas(
  config: pg.ClientConfig,
  nats: { servers: string; connection: Record<string, string> },
  o: BridgeOptions,
): Promise<void> {
  const schemas = await bridgeSchemas(config, o.publication);
  const nc = await connect({ servers: nats.servers, ...nats.connection, name: 'walstream-bridge-schemas' });
  try {
    const kv = await new Kvm(nc).create('schemas', { history: 10 });
    for (const s of schemas) {
      await kv.put(bridgeSchemaKey(s.schema.split('.')[0] as string, s.table), encodeBridgeSchema(s, o.json));
    }
    o.logger.info('schemas published', { bucket: 'schemas', tables: schemas.length });
  } finally {
    await nc.close();
  }
}
