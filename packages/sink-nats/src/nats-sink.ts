/**
 * Publishes to JetStream and resolves a write only when every message of the batch has its PubAck.
 * Event mode sets Nats-Msg-Id = event id, so a replay inside the stream's duplicate window is dropped by the
 * server. Table schemas go to a KV bucket when first seen and when they change.
 */

import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type Batch,
  type ChangeEvent,
  compileRoute,
  ErrorCode,
  type Logger,
  type SchemaChange,
  type Sink,
  type SinkContext,
  SinkError,
  type SinkWriteOptions,
  silentLogger,
  WalstreamError,
} from '@walstream/core';
import { groupBy, TimeSlice } from '@walstream/core/internal';
import { AckInbox } from './ack-inbox.js';
import { mapNatsError } from './errors.js';
import {
  credentialsFrom,
  type NatsSinkOptions,
  type ResolvedNatsOptions,
  redactServer,
  resolveNatsOptions,
} from './options.js';
import { type Compressor, createEventEncoder, encodeMany, encodeOne, loadZstd, MsgpackPacker } from './payload.js';
import { AckGroup, OrderedPublisher } from './publisher.js';
import { ensureStream } from './stream.js';
import { HeaderPrefix } from './wire-headers.js';

/** Longest stretch of encoding and submitting one write's messages without an event-loop turn. */
const SUBMIT_SLICE_MS = 10;

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

/** nats.js reads `pendingLimit` but leaves it out of its typings. */
const HIDDEN_CONNECT_OPTIONS = { pendingLimit: 256 * 1024 } as Record<string, unknown>;

/** At most one duplicate warning per this many ms (a replay after a restart acknowledges many). */
const DUPLICATE_WARN_INTERVAL_MS = 60_000;

export function createNatsSink(options: NatsSinkOptions): NatsSink {
  return new NatsSinkImpl(resolveNatsOptions(options));
}

class NatsSinkImpl implements NatsSink {
  readonly name: string;
  readonly concurrentWrites: number;
  connection: NatsConnection | null = null;
  private publisher: OrderedPublisher | null = null;
  private inbox: AckInbox<AckGroup> | null = null;
  private opening: Promise<void> | null = null;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private kv: KV | null = null;
  private compress: Compressor | null = null;
  private readonly subjectOf: (e: ChangeEvent) => string;
  private readonly schemas = new Map<string, string>();
  /** The fixed headers of every message: Content-Type, and Content-Encoding when compressed. */
  private readonly plainHeaders: HeaderPrefix;
  private readonly zstdHeaders: HeaderPrefix;
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
    this.concurrentWrites = o.writesInFlight;
    this.subjectOf = compileRoute(o.subject, subjectToken);
    const contentType = o.contentType ?? (o.json ? 'application/json' : 'application/msgpack');
    this.plainHeaders = new HeaderPrefix([['Content-Type', contentType]]);
    this.zstdHeaders = new HeaderPrefix([
      ['Content-Type', contentType],
      ['Content-Encoding', 'zstd'],
    ]);
    this.encode = o.encode ?? (o.json ? (e) => encodeOne(e, true) : createEventEncoder());
  }

  async open(ctx?: SinkContext): Promise<void> {
    if (ctx) {
      this.log = ctx.logger;
      this.sourceOf = ctx.sourceId;
    }
    this.closed = false;
    // Overlapping writes may each find the sink unopened: they share one connection attempt.
    this.opening ??= this.connectAll().catch((err: unknown) => {
      this.opening = null;
      throw err;
    });
    await this.opening;
  }

  private async connectAll(): Promise<void> {
    if (this.o.compression === 'zstd') this.compress = (await loadZstd()).compress;
    let nc: NatsConnection;
    try {
      // Reconnect forever: an outage shows as failed writes (retried by the pipeline), never as a dead sink.
      nc = await connect({
        // Credentials leave the URLs (nats.js would print them in its own errors and status events).
        servers: this.o.servers.map(redactServer),
        ...credentialsFrom(this.o.servers),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        name: 'walstream',
        // Without this nats.js builds two Error objects (for their stack traces) per publish: a third of the
        // event mode's CPU time. Our errors name the write that failed instead.
        noAsyncTraces: true,
        // Outbound bytes before nats.js writes to the socket inline (32 KiB by default, a write per ~50 event
        // messages); a burst of publishes then goes out in fewer, larger writes. Not in nats.js's typings.
        ...HIDDEN_CONNECT_OPTIONS,
        ...this.o.connection,
      });
    } catch (err) {
      throw mapNatsError(err, `cannot connect to NATS at ${this.o.servers.map(redactServer).join(',')}`);
    }
    this.connection = nc;
    const inbox: AckInbox<AckGroup> = new AckInbox(nc, this.o.ackTimeoutMs, (group, err, duplicate) =>
      publisher.settled(group, err, duplicate),
    );
    this.inbox = inbox;
    const publisher = new OrderedPublisher(
      (subject, payload, h, msgID, group) => inbox.send(subject, payload, h, msgID, group),
      this.o.maxPendingAcks,
    );
    void this.watch(nc, publisher);
    if (this.o.stream) await ensureStream(nc, this.o.stream);
    if (this.o.schemaBucket !== false) {
      try {
        this.kv = await new Kvm(nc).create(this.o.schemaBucket);
      } catch (err) {
        throw mapNatsError(err, `cannot open KV bucket ${this.o.schemaBucket}`);
      }
    }
    this.publisher = publisher;
  }

  /** Stops publishing while the connection is down (see OrderedPublisher). */
  private async watch(nc: NatsConnection, publisher: OrderedPublisher): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.log.warn('NATS connection lost, reconnecting', { sink: this.name });
          publisher.disconnected(
            new SinkError('NATS connection lost: nothing is published until it is back', { retriable: true }),
          );
        } else if (s.type === 'reconnect') {
          this.log.info('NATS connection back', { sink: this.name });
          publisher.reconnected();
        }
      }
    } catch {
      // The status iterator ends with the connection.
    }
  }

  async write(batch: Batch, opts?: SinkWriteOptions): Promise<void> {
    if (this.closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${this.name} is closed`);
    // Writes may overlap (concurrentWrites): each submits its messages only after the previous one did, so
    // the stream sees them in batch order even when a write waits for a schema put first.
    const previous = this.tail;
    let submitted!: () => void;
    this.tail = new Promise<void>((r) => {
      submitted = r;
    });
    let group: AckGroup;
    try {
      await previous;
      if (this.publisher === null) await this.open();
      if (batch.schemaChanges.length > 0) await this.publishSchemas(batch.schemaChanges);
      if (batch.events.length === 0) return;
      group = await this.submit(batch.events, this.publisher as OrderedPublisher);
    } finally {
      submitted();
    }
    // Errors are mapped once per write rather than with a handler per message (this is the hot path).
    try {
      await untilAborted(group.seal(), opts?.signal);
    } catch (err) {
      throw err instanceof SinkError ? err : mapNatsError(err, `publish of ${group.size} message(s)`);
    } finally {
      this.countAcks(group);
    }
  }

  status(): NatsSinkStatus {
    return { published: this.published, duplicates: this.duplicates, sourceId: this.source };
  }

  /**
   * Encodes and submits a batch's messages in order. A stretch longer than SUBMIT_SLICE_MS yields to the event
   * loop first: the first batches run as cold, unoptimised code and took 40-80 ms each in one synchronous loop
   * (the event-loop delay's p99 of a 100k-row run), when acknowledgements, timers and the reader's socket wait.
   * Later writes wait for this one's submit (see write()), so order holds across the yields.
   */
  private async submit(events: readonly ChangeEvent[], publisher: OrderedPublisher): Promise<AckGroup> {
    // Read per write: a reader that reconnected to a promoted replica is on a new timeline.
    const source = this.o.sourceId ?? this.sourceOf?.() ?? null;
    this.source = source;
    const pre = source === null ? '' : `${source}:`;
    const group = new AckGroup();
    const slice = new TimeSlice(SUBMIT_SLICE_MS);
    const turn = async () => {
      await slice.yieldTurn();
      // Closed meanwhile: what was submitted still gets its PubAcks, but this write is not whole.
      if (this.closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${this.name} is closed`);
    };
    if (this.o.mode === 'event') {
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as ChangeEvent;
        publisher.submit(group, this.subjectOf(e), ...this.message(this.encode(e)), pre + e.id);
        if ((i & 31) === 31 && i < events.length - 1 && slice.spent()) await turn();
      }
    } else {
      for (const [subject, evs] of groupBy(events, this.subjectOf)) {
        for (const { first, last, payload } of this.pack(evs)) {
          publisher.submit(group, subject, ...this.message(payload), `${pre}${first.id}..${last.id}`);
          if (slice.spent()) await turn();
        }
      }
    }
    return group;
  }

  private message(payload: Uint8Array): [Uint8Array, HeaderPrefix] {
    if (this.compress === null) return [payload, this.plainHeaders];
    return [this.compress(payload), this.zstdHeaders];
  }

  private countAcks(group: AckGroup): void {
    const dups = group.duplicates;
    this.published += group.acks;
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
    this.closed = true;
    await this.opening?.catch(() => {});
    const nc = this.connection;
    this.connection = null;
    this.publisher = null;
    this.opening = null;
    this.kv = null;
    const inbox = this.inbox;
    this.inbox = null;
    if (nc !== null) await nc.drain().catch(() => nc.close());
    inbox?.close(new SinkError(`sink ${this.name} closed before the ack arrived`, { retriable: true }));
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

/**
 * The write's acks, or a retriable error as soon as the pipeline aborts the write (a hard stop): the messages
 * under way still settle in the publisher, a retry of the batch is deduplicated by Msg-Id.
 */
function untilAborted(done: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return done;
  if (signal.aborted) return Promise.reject(new SinkError('write aborted', { retriable: true, cause: signal.reason }));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new SinkError('write aborted', { retriable: true, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
