import { ConfigError } from './errors.js';
import type { LogReader, Sink } from './interfaces.js';
import type { Logger } from './logger.js';
import { parseOptions } from './options.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry.js';
import type { Transform } from './transform.js';
import { v } from './validate.js';

/**
 * When a batch is cut. A full or timed-out batch that ends inside a source transaction (readers that send commit
 * markers, like the Postgres reader) is cut at the transaction's end or at event index `k * maxEvents`, whichever
 * comes first, so a restart cuts a replayed transaction where the first run did; a batch may then hold up to about
 * twice `maxEvents` events or `maxBytes` bytes.
 */
export interface BatchOptions {
  /** Cut a batch at this many events. @default 500 */
  maxEvents?: number;
  /** Cut a batch at this many (estimated) bytes. @default 524288 (512 KiB) */
  maxBytes?: number;
  /** Cut a batch this long after its first item arrived. @default 100 */
  maxWaitMs?: number;
}

/** A sink with its own retry policy and an optional dead-letter sink for batches it cannot take. */
export interface SinkBinding {
  sink: Sink;
  /** Receives a batch when `sink` fails for good; the pipeline then goes on. @default none (stop) */
  deadLetter?: Sink;
  /** Overrides the pipeline's `retry` for this sink. */
  retry?: RetryOptions;
}

/** Everything but the reader and the sinks: what `DefaultPipelineConfig()` returns. */
export interface PipelineConfig {
  batch?: BatchOptions;
  retry?: RetryOptions;
  /**
   * Bytes of events read but not yet written by every sink; when full the reader is paused. Events held this long
   * outlive the young generation, so this bounds most of the process's memory too. A smaller budget is also
   * faster while a sink keeps up: events die young instead of being copied and promoted by the garbage collector
   * (bench/nats.mjs, 100k rows into JetStream, batch mode: 8 MiB 0.96-0.99 s CPU per 100k rows and 194-204 MB peak
   * RSS, 2 MiB 0.80-0.83 s and 113-114 MB but 0.77-0.91x pg_recvlogical from round to round, 1 MiB 0.80-0.82 s,
   * 112-115 MB and 0.91-0.92x in every run; event mode as fast or faster at 1 MiB). Raise it for a sink whose
   * acknowledgements are slow (more events in flight keep it busy).
   * @default 1048576 (1 MiB), or twice `batch.maxBytes` when that is larger
   */
  maxInFlightBytes?: number;
  /** How long `stop()` waits for sinks to drain before aborting their writes. @default 30000 */
  drainTimeoutMs?: number;
  /** Applied to every event before batching; null drops it. @default none */
  transform?: Transform;
  /** Receives the pipeline's log lines. @default silent */
  logger?: Logger;
  /** Aborting it stops the pipeline (like `stop()`). */
  signal?: AbortSignal;
}

export interface PipelineOptions extends PipelineConfig {
  /** Names the pipeline in logs, status and errors. */
  name: string;
  reader: LogReader;
  /** At least one. Each gets every batch, in order. */
  sinks: ReadonlyArray<Sink | SinkBinding>;
}

export interface ResolvedPipelineOptions {
  name: string;
  reader: LogReader;
  sinks: { sink: Sink; deadLetter: Sink | undefined; retry: Required<RetryOptions> }[];
  batch: Required<BatchOptions>;
  maxInFlightBytes: number;
  drainTimeoutMs: number;
  transform: Transform | undefined;
  logger: Logger | undefined;
  signal: AbortSignal | undefined;
}

export const DEFAULT_BATCH: Required<BatchOptions> = { maxEvents: 500, maxBytes: 512 << 10, maxWaitMs: 100 };
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 1 << 20;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** The documented defaults, for the positional form `NewPipeline(name, reader, sinks, DefaultPipelineConfig())`. */
export function DefaultPipelineConfig(): PipelineConfig {
  return {
    batch: { ...DEFAULT_BATCH },
    retry: { ...DEFAULT_RETRY },
    maxInFlightBytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
  };
}

const positiveInt = v.number().int().positive();
const nonNegativeInt = v.number().int().nonnegative();
const isSink = (x: unknown): x is Sink =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as Sink).write === 'function' &&
  typeof (x as Sink).name === 'string';

const retrySchema = v.object({
  maxAttempts: positiveInt.optional(),
  initialDelayMs: nonNegativeInt.optional(),
  maxDelayMs: nonNegativeInt.optional(),
  multiplier: v.number().min(1).optional(),
});

const sinkSchema = v.custom<Sink>(isSink, 'must be a Sink: an object with a string `name` and a `write` function');
const bindingSchema = v.object({ sink: sinkSchema, deadLetter: sinkSchema.optional(), retry: retrySchema.optional() });

const optionsSchema = v.object({
  name: v.string().min(1),
  reader: v.custom<LogReader>(
    (x) =>
      typeof x === 'object' &&
      x !== null &&
      typeof (x as LogReader).read === 'function' &&
      typeof (x as LogReader).ack === 'function',
    'must be a LogReader: an object with `read` and `ack` functions',
  ),
  sinks: v.array(v.union([sinkSchema, bindingSchema])).min(1, 'at least one sink is required'),
  batch: v
    .object({
      maxEvents: positiveInt.optional(),
      maxBytes: positiveInt.optional(),
      maxWaitMs: nonNegativeInt.optional(),
    })
    .optional(),
  retry: retrySchema.optional(),
  maxInFlightBytes: positiveInt.optional(),
  drainTimeoutMs: nonNegativeInt.optional(),
  transform: v.custom<Transform>((x) => typeof x === 'function', 'must be a function').optional(),
  logger: v
    .custom<Logger>(
      (x) =>
        typeof x === 'object' &&
        x !== null &&
        ['debug', 'info', 'warn', 'error'].every((k) => typeof (x as Record<string, unknown>)[k] === 'function'),
      'must have debug, info, warn and error functions',
    )
    .optional(),
  signal: v.custom<AbortSignal>((x) => x instanceof AbortSignal, 'must be an AbortSignal').optional(),
});

/** Validates options and fills defaults; a bad option throws ConfigError naming the field. */
export function resolvePipelineOptions(input: PipelineOptions): ResolvedPipelineOptions {
  const o = parseOptions(optionsSchema, input);
  const retry = { ...DEFAULT_RETRY, ...o.retry };
  const batch = { ...DEFAULT_BATCH, ...o.batch };
  // Unset, the budget holds at least two full batches, so the reader fills the next one while a sink writes.
  const maxInFlightBytes = o.maxInFlightBytes ?? Math.max(DEFAULT_MAX_IN_FLIGHT_BYTES, 2 * batch.maxBytes);
  if (batch.maxBytes > maxInFlightBytes) {
    throw new ConfigError('batch.maxBytes', `must not exceed maxInFlightBytes (${maxInFlightBytes})`);
  }
  if (retry.initialDelayMs > retry.maxDelayMs) {
    throw new ConfigError('retry.initialDelayMs', 'must not exceed retry.maxDelayMs');
  }
  const names = new Set<string>();
  const sinks = o.sinks.map((s, i) => {
    const b = isSink(s) ? { sink: s } : s;
    if (names.has(b.sink.name))
      throw new ConfigError(`sinks.${i}.name`, `duplicate sink name ${JSON.stringify(b.sink.name)}`);
    names.add(b.sink.name);
    return { sink: b.sink, deadLetter: b.deadLetter, retry: { ...retry, ...b.retry } };
  });
  return {
    name: o.name,
    reader: o.reader,
    sinks,
    batch,
    maxInFlightBytes,
    drainTimeoutMs: o.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    transform: o.transform,
    logger: o.logger,
    signal: o.signal,
  };
}
