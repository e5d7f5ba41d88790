/**
 * Produces each event to Kafka with the primary key as message key (stable JSON), so a row's changes land on one
 * partition in order. One request in flight (the pipeline writes one batch at a time, kafkajs sends with
 * maxInFlightRequests 1), acks = all: a write resolves only when every partition it touched has acknowledged.
 */
import {
  type Batch,
  type ChangeEvent,
  compileRoute,
  encodeEventJson,
  encodeEventMsgpack,
  encodeValueJson,
  formatLsn,
  parseOptions,
  type Route,
  type Row,
  type Sink,
  SinkError,
} from '@walstream/core';
import { groupBy } from '@walstream/core/internal';
import { CompressionTypes, Kafka, type KafkaConfig, logLevel, type Message, type Producer } from 'kafkajs';
import { z } from 'zod';

export interface KafkaSinkOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** Topic per event: template (`{database}`, `{schema}`, `{table}`, `{operation}`) or function. @default 'cdc.{schema}.{table}' */
  topic?: Route;
  /** Idempotent producer (exactly-once per partition on retries). Needs a real cluster (not librdkafka's mock). @default false */
  idempotent?: boolean;
  /** Body as MessagePack instead of canonical JSON. @default false */
  msgpack?: boolean;
  /** @default 'none' */
  compression?: 'none' | 'gzip';
  /** Produce request timeout. @default 30000 */
  timeoutMs?: number;
  /** Extra kafkajs client settings (ssl, sasl, connectionTimeout, ...). */
  kafka?: Partial<KafkaConfig>;
  /** @default 'walstream' */
  clientId?: string;
  /** @default `kafka:<first broker>` */
  name?: string;
}

const schema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1),
    topic: z
      .union([z.string().min(1), z.custom<(e: ChangeEvent) => string>((v) => typeof v === 'function')])
      .optional(),
    idempotent: z.boolean().optional(),
    msgpack: z.boolean().optional(),
    compression: z.enum(['none', 'gzip']).optional(),
    timeoutMs: z.number().int().positive().optional(),
    kafka: z.record(z.string(), z.unknown()).optional(),
    clientId: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
  })
  .strict();

/** Topic names allow `[a-zA-Z0-9._-]` (max 249); anything else in a substituted part becomes `_`. */
export function topicPart(part: string): string {
  return part.replace(/[^a-zA-Z0-9._-]/g, '_') || '_';
}

/** The message key: the key columns as JSON with sorted names, so equal keys give equal bytes. */
export function stableKey(key: Row | null): string | null {
  if (key === null) return null;
  const names = Object.keys(key).sort();
  return `{${names.map((n) => `${JSON.stringify(n)}:${encodeValueJson(key[n] ?? null)}`).join(',')}}`;
}

export function createKafkaSink(options: KafkaSinkOptions): Sink {
  const o = parseOptions(schema, options, 'kafka') as KafkaSinkOptions;
  const name = o.name ?? `kafka:${o.brokers[0]}`;
  const topicOf = compileRoute(o.topic ?? 'cdc.{schema}.{table}', topicPart);
  const kafka = new Kafka({
    clientId: o.clientId ?? 'walstream',
    brokers: o.brokers,
    logLevel: logLevel.NOTHING, // the library never prints; failures surface as write errors
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    ...(o.kafka as Partial<KafkaConfig>),
  });
  let producer: Producer | null = null;

  async function connected(): Promise<Producer> {
    if (producer !== null) return producer;
    const p = kafka.producer({
      idempotent: o.idempotent ?? false,
      maxInFlightRequests: o.idempotent ? 5 : 1, // ordering: one request per broker unless idempotent
      allowAutoTopicCreation: true,
    });
    try {
      await p.connect();
    } catch (err) {
      throw mapKafkaError(err, `cannot connect to Kafka at ${o.brokers.join(',')}`);
    }
    producer = p;
    return p;
  }

  return {
    name,
    async open() {
      await connected();
    },
    async write(batch: Batch) {
      if (batch.events.length === 0) return;
      const p = await connected();
      const topicMessages = [...groupBy(batch.events, topicOf)].map(([topic, events]) => ({
        topic,
        messages: events.map(
          (e): Message => ({
            key: stableKey(e.key),
            value: o.msgpack ? Buffer.from(encodeEventMsgpack(e)) : encodeEventJson(e),
            headers: {
              'walstream-id': e.id,
              'walstream-operation': e.operation,
              'walstream-lsn': formatLsn(e.position.lsn),
              'walstream-transaction-id': e.transactionId,
            },
          }),
        ),
      }));
      try {
        await p.sendBatch({
          topicMessages,
          acks: -1,
          timeout: o.timeoutMs ?? 30_000,
          compression: o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        });
      } catch (err) {
        throw mapKafkaError(err, 'produce');
      }
    },
    async close() {
      const p = producer;
      producer = null;
      await p?.disconnect().catch(() => {});
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
