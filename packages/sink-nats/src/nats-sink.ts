/**
 * Publishes to JetStream and resolves a write only when every message of the batch has its PubAck.
 * Event mode sets Nats-Msg-Id = event id, so a replay inside the stream's duplicate window is dropped by the
 * server. Table schemas go to a KV bucket when first seen and when they change.
 */

import { type JetStreamClient, jetstream, type PubAck } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  type Batch,
  type ChangeEvent,
  compileRoute,
  groupBy,
  type Logger,
  type SchemaChange,
  type Sink,
  type SinkContext,
  silentLogger,
} from '@walstream/core';
import { mapNatsError } from './errors.js';
import {
  credentialsFrom,
  type NatsSinkOptions,
  type ResolvedNatsOptions,
  redactServer,
  resolveNatsOptions,
} from './options.js';
import { type Compressor, createEventEncoder, encodeMany, encodeOne, loadZstd, MsgpackPacker } from './payload.js';
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

export interface NatsSinkStatus {
  /** Messages JetStream acknowledged (a batch-mode message holds several events). */
  readonly published: number;
  /**
   * Of those, acknowledged as duplicates of a Msg-Id already in the stream's window, i.e. not stored again:
   * expected after a replay; anything else means two sources share ids (set `sourceId`).
   */
  readonly duplicates: number;
  /** The source identity in the Msg-Ids of the last write, or null when none is known. */
  readonly sourceId: string | null;
}

export interface NatsSink extends Sink {
  /** The live connection (after open), e.g. for health checks. */
  readonly connection: NatsConnection | null;
  status(): NatsSinkStatus;
}

/** At most one duplicate warning per this many ms (a replay after a restart acknowledges many). */
const DUPLICATE_WARN_INTERVAL_MS = 60_000;

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
  private readonly encode: (e: ChangeEvent) => Uint8Array;
  private readonly packer = new MsgpackPacker();
  private log: Logger = silentLogger;
  private sourceOf: (() => string | null) | undefined;
  private source: string | null = null;
  private published = 0;
  private duplicates = 0;
  private unwarned = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: ResolvedNatsOptions) {
    this.name = o.name;
    this.subjectOf = compileRoute(o.subject, subjectToken);
    this.contentType = o.json ? 'application/json' : 'application/msgpack';
    this.encode = o.json ? (e) => encodeOne(e, true) : createEventEncoder();
  }

  async open(ctx?: SinkContext): Promise<void> {
    if (ctx) {
      this.log = ctx.logger;
      this.sourceOf = ctx.sourceId;
    }
    if (this.connection !== null) return;
    if (this.o.compression === 'zstd') this.compress = (await loadZstd()).compress;
    try {
      // Reconnect forever: an outage shows as failed writes (retried by the pipeline), never as a dead sink.
      this.connection = await connect({
        // Credentials leave the URLs (nats.js would print them in its own errors and status events).
        servers: this.o.servers.map(redactServer),
        ...credentialsFrom(this.o.servers),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        name: 'walstream',
        // Without this nats.js builds two Error objects (for their stack traces) per publish: a third of the
        // event mode's CPU time. Our errors name the write that failed instead.
        noAsyncTraces: true,
        ...this.o.connection,
      });
    } catch (err) {
      throw mapNatsError(err, `cannot connect to NATS at ${this.o.servers.map(redactServer).join(',')}`);
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
    // Read per write: a reader that reconnected to a promoted replica is on a new timeline.
    const source = this.o.sourceId ?? this.sourceOf?.() ?? null;
    this.source = source;
    const pre = source === null ? '' : `${source}:`;
    const acks: Promise<PubAck>[] = [];
    if (this.o.mode === 'event') {
      for (const e of batch.events) acks.push(this.publish(js, this.subjectOf(e), this.encode(e), pre + e.id));
    } else {
      for (const [subject, events] of groupBy(batch.events, this.subjectOf)) {
        for (const { first, last, payload } of this.pack(events)) {
          acks.push(this.publish(js, subject, payload, `${pre}${first.id}..${last.id}`));
        }
      }
    }
    // Every message is sent before the first ack is awaited (pipelined); the write fails if any ack fails.
    // Errors are mapped once here rather than with a handler per message (this is the hot path).
    let results: PubAck[];
    try {
      results = await Promise.all(acks);
    } catch (err) {
      throw mapNatsError(err, `publish of ${acks.length} message(s)`);
    }
    this.countAcks(results);
  }

  status(): NatsSinkStatus {
    return { published: this.published, duplicates: this.duplicates, sourceId: this.source };
  }

  private countAcks(results: readonly PubAck[]): void {
    let dups = 0;
    for (const r of results) if (r.duplicate) dups++;
    this.published += results.length;
    if (dups === 0) return;
    this.duplicates += dups;
    this.unwarned += dups;
    const now = Date.now();
    if (now - this.warnedAt < DUPLICATE_WARN_INTERVAL_MS) return;
    this.warnedAt = now;
    this.log.warn('JetStream acknowledged messages as duplicates of Msg-Ids already in the stream', {
      sink: this.name,
      duplicates: this.unwarned,
      total: this.duplicates,
      sourceId: this.source,
      hint: 'normal after a replay; otherwise two sources share event ids: set sourceId',
    });
    this.unwarned = 0;
  }

  async close(): Promise<void> {
    const nc = this.connection;
    this.connection = null;
    this.js = null;
    this.kv = null;
    if (nc !== null) await nc.drain().catch(() => nc.close());
  }

  /** Not async on purpose: one promise per message on the hot path; write() maps a failure. */
  private publish(js: JetStreamClient, subject: string, payload: Uint8Array, msgID: string): Promise<PubAck> {
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
  private *pack(events: ChangeEvent[]): Generator<{ first: ChangeEvent; last: ChangeEvent; payload: Uint8Array }> {
    if (this.o.json) {
      for (const p of this.packJson(events)) yield { ...p, payload: encodeMany(p.encoded, true) };
      return;
    }
    const max = this.o.batchMaxEvents;
    const maxBytes = this.o.batchMaxBytes;
    const pk = this.packer;
    pk.start();
    let first = events[0] as ChangeEvent;
    let last = first;
    for (const e of events) {
      const mark = pk.mark;
      pk.add(e);
      if (pk.count > 1 && (pk.count > max || pk.bytes > maxBytes)) {
        yield { first, last, payload: pk.cutBefore(mark) };
        first = e;
      }
      last = e;
    }
    if (pk.count > 0) yield { first, last, payload: pk.finish() };
  }

  private *packJson(
    events: ChangeEvent[],
  ): Generator<{ first: ChangeEvent; last: ChangeEvent; encoded: Uint8Array[] }> {
    let encoded: Uint8Array[] = [];
    let first = events[0] as ChangeEvent;
    let last = first;
    let bytes = 0;
    for (const e of events) {
      const one = encodeOne(e, true);
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
