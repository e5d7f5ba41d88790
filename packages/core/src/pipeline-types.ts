import type { WalstreamError } from './errors.js';
import type { TableSnapshotProgress } from './event.js';
import type { Position } from './position.js';
import type { SinkState } from './sink-worker.js';

export type PipelineState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What a pipeline reports as it runs; subscribe with `pipeline.on(type, listener)`. */
export type PipelineEvent =
  | { readonly type: 'started' }
  | { readonly type: 'committed'; readonly position: Position }
  /** Snapshot progress changed (emitted with commits while a reader copies existing rows). */
  | { readonly type: 'snapshot'; readonly tables: readonly TableSnapshotProgress[] }
  | {
      readonly type: 'retrying';
      readonly sink: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: WalstreamError;
    }
  | { readonly type: 'backpressure'; readonly active: boolean; readonly inFlightBytes: number }
  | { readonly type: 'dead-letter'; readonly sink: string; readonly events: number; readonly error: WalstreamError }
  | { readonly type: 'error'; readonly error: WalstreamError }
  | { readonly type: 'stopped'; readonly error: WalstreamError | null };

export type PipelineEventType = PipelineEvent['type'];
export type PipelineListener<T extends PipelineEventType> = (event: Extract<PipelineEvent, { type: T }>) => void;

export interface SinkStatus {
  readonly name: string;
  readonly state: SinkState;
  readonly eventsOut: number;
  readonly batchesOut: number;
  readonly retries: number;
  readonly deadLettered: number;
  /** Batches handed to the sink and not yet written (the one being written included). */
  readonly queuedBatches: number;
  /** Milliseconds the current write (retries included) has been under way; null when idle. */
  readonly writingForMs: number | null;
  readonly lastError: WalstreamError | null;
}

/** A snapshot of counters and positions; cheap enough to poll from a metrics exporter. */
export interface PipelineStatus {
  readonly name: string;
  readonly state: PipelineState;
  readonly eventsIn: number;
  readonly eventsDropped: number;
  readonly batches: number;
  readonly inFlightBytes: number;
  readonly backpressure: boolean;
  /** Last position every sink holds; what the reader was told. */
  readonly committed: Position | null;
  /** Last position read from the reader. */
  readonly received: Position | null;
  /** WAL bytes between received and committed (0 when nothing is pending). */
  readonly lagBytes: number;
  readonly lastHeartbeatAt: string | null;
  readonly sinks: readonly SinkStatus[];
  /** Snapshot progress per table when the reader reports it (empty otherwise). */
  readonly snapshot: readonly TableSnapshotProgress[];
  readonly error: WalstreamError | null;
}

export interface Pipeline extends AsyncDisposable {
  readonly name: string;
  /** Settles when the pipeline has stopped; rejects with the fatal error if it failed. */
  readonly done: Promise<void>;
  /** Opens sinks and the reader; resolves once streaming. Rejects (and cleans up) if either cannot start. */
  start(): Promise<void>;
  /** Stops reading, drains in-flight batches, confirms what every sink holds, closes sinks and reader. */
  stop(): Promise<void>;
  status(): PipelineStatus;
  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends PipelineEventType>(type: T, listener: PipelineListener<T>): () => void;
}
