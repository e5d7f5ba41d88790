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
}

export interface SinkContext {
  readonly pipeline: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface SinkWriteOptions {
  readonly signal: AbortSignal;
}

/**
 * A destination. `write` resolving means every event of the batch is durable in the destination;
 * throwing means it was not (partially written is allowed: sinks are idempotent by event id).
 * Writes to one sink are never concurrent and arrive in position order.
 */
export interface Sink {
  readonly name: string;
  open?(ctx: SinkContext): Promise<void>;
  write(batch: Batch, opts: SinkWriteOptions): Promise<void>;
  close?(): Promise<void>;
}
