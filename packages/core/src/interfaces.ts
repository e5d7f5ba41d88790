import type { Batch, ReaderItem, TableSnapshotProgress } from './event.js';
import type { Logger } from './logger.js';
import type { Position } from './position.js';

export interface ReadOptions {
  /** Aborting ends the iteration; the reader releases its connection. */
  signal?: AbortSignal;
}

/**
 * A source of change events. Pull-based: a consumer that stops calling `next()` stops the reader, which
 * must then stop pulling from its own source (backpressure) while it keeps its connection alive.
 */
export interface LogReader {
  read(opts?: ReadOptions): AsyncIterable<ReaderItem>;
  /**
   * Optional: the same items as `read()`, in the same order, handed out in runs (arrays), so a consumer pays one
   * await per run instead of one per item. The pipeline uses it when present. A run may end anywhere (inside a
   * transaction too); the array is the consumer's once handed out.
   */
  readRuns?(opts?: ReadOptions): AsyncIterable<readonly ReaderItem[]>;
  /** Every event at or before `position` is durable downstream; the reader may confirm it to its source. */
  ack(position: Position): Promise<void>;
  close(): Promise<void>;
  /** Snapshot progress per table, for readers that copy existing rows; shown in `pipeline.status()`. */
  snapshotProgress?(): readonly TableSnapshotProgress[];
  /**
   * Identifies the source's history (for Postgres: system identifier and timeline) once open, so sinks can make
   * event ids unique across sources: the same `LSN:index` repeats in another cluster or after a failover.
   */
  readonly sourceId?: string | null;
  /**
   * Inspects the source without changing it (for Postgres: checks, publication, and whether the slot exists; no
   * slot is created). The pipeline calls it before it opens the sinks, so `sourceStart` is known to them.
   */
  prepare?(opts?: ReadOptions): Promise<void>;
  /** What this start does at the source (after `prepare()` or `open()`), or null. See SinkContext.source. */
  readonly sourceStart?: SourceStart | null;
  /**
   * True when the reader yields a `commit` item after every source transaction's events (the Postgres reader
   * does). The pipeline then knows where transactions end from the first one on: without it, it learns so at the
   * first commit item, and until then a batch timer or a stop may cut the first transaction after a start.
   */
  readonly commitMarkers?: boolean;
}

/**
 * What a reader's start does at its source, for sinks that keep their own position: a sink that holds a checkpoint
 * while the reader starts a fresh replication slot would skip or miss changes silently (a failover or a restore lost
 * the slot), and refuses to start.
 */
export interface SourceStart {
  /** The replication slot was missing: this start creates it, so nothing before its start can be read. */
  readonly slotCreated: boolean;
  /** Where the created slot starts (its consistent point), once the reader is open. */
  readonly slotStart?: bigint;
  /** The slot is temporary: created on every start, a gap between runs is what it means. */
  readonly temporary?: boolean;
}

export interface SinkContext {
  readonly pipeline: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The reader's `sourceId` (known once the reader is open, after the sinks), or null. */
  readonly sourceId?: () => string | null;
  /**
   * What the reader's start does at the source, or null when the reader does not say (no `prepare()`). Known
   * before the sinks open: the pipeline prepares the reader first (`slotStart` only once the reader is open).
   */
  readonly source?: () => SourceStart | null;
}

export interface SinkWriteOptions {
  readonly signal: AbortSignal;
}

/**
 * A destination. `write` resolving means every event of the batch is durable in the destination;
 * throwing means it was not (partially written is allowed: sinks are idempotent by event id).
 * Writes to one sink arrive in position order and, unless the sink sets `concurrentWrites`, are never
 * concurrent.
 */
export interface Sink {
  readonly name: string;
  /**
   * How many writes may be under way at once. They are started in batch order; a batch counts as written only
   * when it and every earlier batch resolved; after a failure nothing new starts until every write under way
   * settled, then failed batches are retried one at a time, oldest first. A sink that sets this keeps its
   * own output in call order. @default 1
   */
  readonly concurrentWrites?: number;
  open?(ctx: SinkContext): Promise<void>;
  write(batch: Batch, opts: SinkWriteOptions): Promise<void>;
  close?(): Promise<void>;
}
