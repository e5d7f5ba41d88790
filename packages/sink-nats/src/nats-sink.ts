/**
 * Publishes to JetStream and resolves a write only when every message of the batch has its PubAck.
 * Event mode sets Nats-Msg-Id = event id, so a replay inside the stream's duplicate window is dropped by the
 * server. Table schemas go to a KV bucket when first seen and when they change.
 */

import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { type Batch, type ChangeEvent, compileRoute, type SchemaChange, type Sink } from '@walstream/core';
import { groupBy } from '@walstream/core/internal';
import { mapNatsError } from './errors.js';
import { type NatsSinkOptions, type ResolvedNatsOptions, resolveNatsOptions } from './options.js';
import { type Compressor, encodeMany, encodeOne, loadZstd } from './payload.js';
import { ensureStream } from './stream.js';

/** Subject tokens cannot hold `.`, `*`, `>` or white space: a table named `a.b` must not add a token. */
export function subjectToken(part: string): string {
  return part.replace(/[.*>\s]/g, '_') || '_';
}

/** KV keys allow `[-/_=.a-zA-Z0-9]`; anything else (`=` and `.` included) becomes `=<hex>=`, so keys stay unique. */
export function schemaKey(schema: string, table: string): string {
  const enc = (s: string) => s.replace(/[^-/_a-zA-Z0-9]/g, (c) => `=${(c.codePointAt(0) as number).toString(16)}=`);
  return `${enc(schema)}.${enc(table)}`;
}

export interface NatsSink extends Sink {
  /** The live connection (after open), e.g. for health checks. */
  readonly connection: NatsConnection | null;
}

export function createNatsSink(options: NatsSinkOptions): NatsSink {
  return new NatsSinkImpl(resolveNatsOptions(options));
}

class NatsSinkImpl implements NatsSink {
  readonly name: string;
  connection: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private kv: KV | null = null;
  private compress: Compressor | null = null;
  private readonly subjectOf: (e: ChangeEvent) => string;
  private readonly schemas = new Map<string, string>();
  private readonly contentType: string;

  constructor(private readonly o: ResolvedNatsOptions) {
    this.name = o.name;
    this.subjectOf = compileRoute(o.subject, subjectToken);
    this.contentType = o.json ? 'application/json' : 'application/msgpack';
  }

  async open(): Promise<void> {
    if (this.connection !== null) return;
    if (this.o.compression === 'zstd') this.compress = (await loadZstd()).compress;
    try {
      // Reconnect forever: an outage shows as failed writes (retried by the pipeline), never as a dead sink.
      this.connection = await connect({
        servers: this.o.servers,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        name: 'walstream',
        ...this.o.connection,
      });
    } catch (err) {
      throw mapNatsError(err, `cannot connect to NATS at ${this.o.servers.join(',')}`);
    }
    this.js = jetstream(this.connection, { timeout: this.o.ackTimeoutMs });
    if (this.o.stream) await ensureStream(this.connection, this.o.stream);
    if (this.o.schemaBucket !== false) {
      try {
        this.kv = await new Kvm(this.connection).create(this.o.schemaBucket);
      } catch (err) {
        throw mapNatsError(err, `cannot open KV bucket ${this.o.schemaBucket}`);
      }
    }
  }

  async write(batch: Batch): Promise<void> {
    if (this.js === null) await this.open();
    const js = this.js as JetStreamClient;
    if (batch.schemaChanges.length > 0) await this.publishSchemas(batch.schemaChanges);
    if (batch.events.length === 0) return;
    const acks: Promise<unknown>[] = [];
    if (this.o.mode === 'event') {
      for (const e of batch.events) acks.push(this.publish(js, this.subjectOf(e), encodeOne(e, this.o.json), e.id));
    } else {
      for (const [subject, events] of groupBy(batch.events, this.subjectOf)) {
        for (const { first, last, encoded } of this.pack(events)) {
          acks.push(this.publish(js, subject, encodeMany(encoded, this.o.json), `${first.id}..${last.id}`));
        }
      }
    }
    // Every message is sent before the first ack is awaited (pipelined); the write fails if any ack fails.
    // Errors are mapped once here rather than with a handler per message (this is the hot path).
    try {
      await Promise.all(acks);
    } catch (err) {
      throw mapNatsError(err, `publish of ${acks.length} message(s)`);
    }
  }

  async close(): Promise<void> {
    const nc = this.connection;
    this.connection = null;
    this.js = null;
    this.kv = null;
    if (nc !== null) await nc.drain().catch(() => nc.close());
  }

  /** Not async on purpose: one promise per message on the hot path; write() maps a failure. */
  private publish(js: JetStreamClient, subject: string, payload: Uint8Array, msgID: string): Promise<unknown> {
    const h = headers();
    h.set('Content-Type', this.contentType);
    let data = payload;
    if (this.compress !== null) {
      data = this.compress(payload);
      h.set('Content-Encoding', 'zstd');
    }
    const ack = js.publish(subject, data, { msgID, headers: h, timeout: this.o.ackTimeoutMs });
    // Promise.all stops at the first failure; the others must not become unhandled rejections.
    ack.catch(() => {});
    return ack;
  }

  /**
   * Splits events into messages of at most batchMaxEvents events and about batchMaxBytes, encoding each event
   * once (the encoding measures it and becomes part of the payload).
   */
  private *pack(events: ChangeEvent[]): Generator<{ first: ChangeEvent; last: ChangeEvent; encoded: Uint8Array[] }> {
    let encoded: Uint8Array[] = [];
    let first = events[0] as ChangeEvent;
    let last = first;
    let bytes = 0;
    for (const e of events) {
      const one = encodeOne(e, this.o.json);
      if (
        encoded.length > 0 &&
        (encoded.length >= this.o.batchMaxEvents || bytes + one.byteLength > this.o.batchMaxBytes)
      ) {
        yield { first, last, encoded };
        encoded = [];
        first = e;
        bytes = 0;
      }
      encoded.push(one);
      last = e;
      bytes += one.byteLength;
    }
    if (encoded.length > 0) yield { first, last, encoded };
  }

  private async publishSchemas(changes: readonly SchemaChange[]): Promise<void> {
    if (this.kv === null) return;
    for (const c of changes) {
      const key = schemaKey(c.schema.schema, c.schema.table);
      const value = JSON.stringify(c.schema);
      if (this.schemas.get(key) === value) continue;
      try {
        await this.kv.put(key, value);
      } catch (err) {
        throw mapNatsError(err, `schema KV put for ${c.schema.schema}.${c.schema.table}`);
      }
      this.schemas.set(key, value);
    }
  }
}
