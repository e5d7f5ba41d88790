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
}

export interface SinkContext {
  readonly pipeline: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The reader's `sourceId` (known once the reader is open, after the sinks), or null. */
  readonly sourceId?: () => string | null;
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
