/**
 * Produces each event to Kafka with the primary key as message key (stable JSON), so a row's changes land on one
 * partition in order. A write sends one produce request per partition (acks = all) and resolves when every partition
 * has acknowledged. The sink remembers which partitions acknowledged a failed write, and the pipeline's retry of that
 * batch resends only the rest: a partition that already holds v1, v2 never gets v1, v2 again.
 */
import {
  type Batch,
  type ChangeEvent,
  compileRoute,
  ErrorCode,
  parseOptions,
  type Route,
  type Sink,
  SinkError,
  WalstreamError,
} from '@walstream/core';
import { v } from '@walstream/core/internal';
import {
  type Admin,
  CompressionTypes,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
} from 'kafkajs';
import { MessageBuilder, type OutMessage } from './messages.js';

export interface KafkaSinkOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** Topic per event: template (`{database}`, `{schema}`, `{table}`, `{operation}`) or function. @default 'cdc.{schema}.{table}' */
  topic?: Route;
  /**
   * Idempotent producer: the broker drops a resent message it already appended (exactly once per partition). kafkajs
   * then retries a send until it succeeds, so a write waits through an outage instead of failing (aborting the write
   * or closing the sink ends it). Needs a real cluster (not librdkafka's mock). @default false
   */
  idempotent?: boolean;
  /** A null-valued message (tombstone) with the same key after each DELETE, so log compaction can drop the row. @default true */
  tombstones?: boolean;
  /**
   * Message-key columns for tables without a primary key (REPLICA IDENTITY FULL, whose event key is the whole row),
   * by `schema.table`; it also overrides the key of tables that have one. Tables without a primary key that are not
   * listed get a null key. @default {}
   */
  keyColumns?: Record<string, string[]>;
  /** Body as MessagePack instead of canonical JSON. @default false */
  msgpack?: boolean;
  /** @default 'none' */
  compression?: 'none' | 'gzip';
  /** Produce request timeout. @default 30000 */
  timeoutMs?: number;
  /** Extra kafkajs client settings (ssl, sasl, connectionTimeout, retry, logLevel, logCreator, ...). */
  kafka?: Partial<KafkaConfig>;
  /** @default 'walstream' */
  clientId?: string;
  /** @default `kafka:<first broker>` */
  name?: string;
}

const schema = v.object({
  brokers: v.array(v.string().min(1)).min(1),
  topic: v.union([v.string().min(1), v.custom<(e: ChangeEvent) => string>((x) => typeof x === 'function')]).optional(),
  idempotent: v.boolean().optional(),
  tombstones: v.boolean().optional(),
  keyColumns: v.record(v.array(v.string().min(1)).min(1)).optional(),
  msgpack: v.boolean().optional(),
  compression: v.enum(['none', 'gzip']).optional(),
  timeoutMs: v.number().int().positive().optional(),
  kafka: v.record(v.unknown()).optional(),
  clientId: v.string().min(1).optional(),
  name: v.string().min(1).optional(),
});

/** Topic names allow `[a-zA-Z0-9._-]` (max 249); anything else in a substituted part becomes `_`. */
export function topicPart(part: string): string {
  return part.replace(/[^a-zA-Z0-9._-]/g, '_') || '_';
}

/** How long partition counts are cached (as kafkajs' metadataMaxAge); a failed write refreshes them. */
const METADATA_MAX_AGE_MS = 300_000;

export function createKafkaSink(options: KafkaSinkOptions): Sink {
  const o = parseOptions(schema, options, 'kafka') as KafkaSinkOptions;
  const name = o.name ?? `kafka:${o.brokers[0]}`;
  const idempotent = o.idempotent ?? false;
  const builder = new MessageBuilder({
    topicOf: compileRoute(o.topic ?? 'cdc.{schema}.{table}', topicPart),
    msgpack: o.msgpack ?? false,
    tombstones: o.tombstones ?? true,
    keyColumns: new Map(Object.entries(o.keyColumns ?? {})),
  });
  const kafka = new Kafka({
    clientId: o.clientId ?? 'walstream',
    brokers: o.brokers,
    logLevel: logLevel.NOTHING, // the library never prints; failures surface as write errors
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    ...(o.kafka as Partial<KafkaConfig>),
  });
  const partitioner = Partitioners.DefaultPartitioner();
  let producer: Producer | null = null;
  let admin: Admin | null = null;
  const partitions = new Map<string, { at: number; list: PartitionMetadata[] }>();
  /** Refs of messages a partition acknowledged during a write that failed elsewhere. */
  let acked = new Set<string>();
  /** The send of the last write; an aborted write leaves it running, and the next write waits for it. */
  let inflight: Promise<void> = Promise.resolve();
  let closed = false;

  async function connected(): Promise<{ producer: Producer; admin: Admin }> {
    if (producer !== null && admin !== null) return { producer, admin };
    const p = kafka.producer({
      idempotent,
      // Explicit, so kafkajs does not warn about its v2 partitioner change; murmur2 as the Java client.
      createPartitioner: Partitioners.DefaultPartitioner,
      // kafkajs voids exactly-once (and warns) unless the idempotent producer may retry without limit.
      ...(idempotent ? { retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 } } : {}),
      allowAutoTopicCreation: true,
    });
    const a = kafka.admin();
    try {
      await p.connect();
      await a.connect();
    } catch (err) {
      await p.disconnect().catch(() => {});
      await a.disconnect().catch(() => {});
      throw mapKafkaError(err, `cannot connect to Kafka at ${o.brokers.join(',')}`);
    }
    producer = p;
    admin = a;
    return { producer: p, admin: a };
  }

  /** Partition metadata of each topic; the producer is asked first so that missing topics get auto-created. */
  async function partitionsOf(p: Producer, a: Admin, topics: string[]): Promise<Map<string, PartitionMetadata[]>> {
    const now = Date.now();
    const stale = topics.filter((t) => (partitions.get(t)?.at ?? -Infinity) < now - METADATA_MAX_AGE_MS);
    if (stale.length > 0) {
      await p.sendBatch({ topicMessages: stale.map((topic) => ({ topic, messages: [] })), acks: -1 });
      const md = await a.fetchTopicMetadata({ topics: stale });
      for (const t of md.topics) partitions.set(t.name, { at: now, list: t.partitions });
    }
    return new Map(topics.map((t) => [t, partitions.get(t)?.list ?? []]));
  }

  async function send(batch: Batch): Promise<void> {
    const all = builder.build(batch);
    const refs = new Set(all.map((m) => m.ref));
    acked = new Set([...acked].filter((r) => refs.has(r))); // only this batch's refs matter
    const todo = all.filter((m) => !acked.has(m.ref));
    if (todo.length === 0) return;
    const { producer: p, admin: a } = await connected();
    const meta = await partitionsOf(p, a, [...new Set(todo.map((m) => m.topic))]);
    const groups = new Map<string, { topic: string; partition: number; out: OutMessage[]; messages: Message[] }>();
    for (const m of todo) {
      const message: Message = { key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) };
      const partition = partitioner({ topic: m.topic, partitionMetadata: meta.get(m.topic) ?? [], message });
      const id = `${m.topic}\u0000${partition}`;
      let g = groups.get(id);
      if (g === undefined) {
        g = { topic: m.topic, partition, out: [], messages: [] };
        groups.set(id, g);
      }
      g.out.push(m);
      g.messages.push({ ...message, partition });
    }
    // One request per partition: a produce request is appended or refused as a whole for each partition, so the
    // acknowledgement tells exactly which messages a partition holds. At most one request per partition is in
    // flight (writes are sequential), which keeps per-partition order with any number of requests per broker.
    const results = await Promise.allSettled(
      [...groups.values()].map(async (g) => {
        await p.send({
          topic: g.topic,
          messages: g.messages,
          acks: -1,
          timeout: o.timeoutMs ?? 30_000,
          compression: o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        });
        for (const m of g.out) acked.add(m.ref);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      partitions.clear(); // leaders or partition counts may have changed
      throw mapKafkaError(failed.reason, 'produce');
    }
    acked.clear();
  }

  return {
    name,
    async open() {
      closed = false;
      await connected();
    },
    async write(batch: Batch, { signal }) {
      if (closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${name} is closed`);
      if (batch.events.length === 0) return;
      if (signal.aborted) throw new SinkError('write aborted', { retriable: true });
      // kafkajs cannot cancel a send; an abort fails the write at once and close() ends what is still running.
      let onAbort: () => void = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new SinkError('write aborted', { retriable: true }));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([inflight, aborted]);
        const current = send(batch);
        inflight = current.catch(() => {});
        await Promise.race([current, aborted]);
      } catch (err) {
        throw err instanceof SinkError ? err : mapKafkaError(err, 'produce');
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      closed = true;
      const p = producer;
      const a = admin;
      producer = null;
      admin = null;
      partitions.clear();
      await p?.disconnect().catch(() => {});
      await a?.disconnect().catch(() => {});
    },
  };
}

/** kafkajs marks its errors `retriable`; anything else (unknown) is not retriable. */
export function mapKafkaError(err: unknown, what: string): SinkError {
  const e = err as Error & { retriable?: boolean; type?: string };
  const retriable =
    e?.name === 'KafkaJSNumberOfRetriesExceeded' || e?.name === 'KafkaJSConnectionError' || e?.retriable === true;
  return new SinkError(`${what} failed: ${e?.name ?? 'Error'}${e?.type ? ` ${e.type}` : ''}`, {
    retriable,
    cause: err,
  });
}
