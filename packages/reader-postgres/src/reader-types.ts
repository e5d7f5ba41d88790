/** The Postgres reader's public surface: its methods and the status it reports. */
import type { Position, ReaderItem, ReadOptions, SourceStart, TableSnapshotProgress } from '@walstream/core';
import type { TableInfo } from './setup.js';
import type { SnapshotHandle } from './snapshot/snapshotter.js';

export interface PostgresReaderStatus {
  readonly state: 'idle' | 'streaming' | 'reconnecting' | 'closed' | 'failed';
  readonly protocolVersion: number | null;
  /** Last position confirmed to Postgres. */
  readonly confirmedLsn: string | null;
  /** Highest WAL position received from the server (reported to it as `write`). */
  readonly receivedLsn: string | null;
  /** Transactions handed out and not yet acknowledged by the consumer. */
  readonly pendingTransactions: number;
  /** End of WAL as of the server's last keepalive. */
  readonly serverWalEnd: string | null;
  /** serverWalEnd - confirmedLsn, in bytes. */
  readonly lagBytes: number;
  readonly queuedBytes: number;
  readonly paused: boolean;
  readonly bufferedTransactionBytes: number;
  /** Transactions the server streamed before they committed (protocol 2+), and those that spilled to disk. */
  readonly streamedTransactions: number;
  readonly spilledTransactions: number;
  readonly reconnects: number;
  /**
   * Prepared transactions received and not yet committed or rolled back (two-phase). Each holds confirmation
   * back to its PREPARE; one that stays (an orphan) pins WAL, and the reader warns once it is older than
   * `preparedWarningMs`. `ageMs` is measured from the server's PREPARE time.
   */
  readonly preparedTransactions: readonly { gid: string; prepareLsn: string; ageMs: number }[];
  /** Progress of initial and on-demand snapshots, per table. */
  readonly snapshot: readonly TableSnapshotProgress[];
}

export interface PostgresReader {
  /**
   * Checks the server and inspects the slot without creating it (creates the publication when `tables` is
   * given); sets `sourceStart`. `open()` does it too; the pipeline calls it before it opens the sinks.
   */
  prepare(opts?: { signal?: AbortSignal }): Promise<void>;
  open(opts?: { signal?: AbortSignal }): Promise<void>;
  read(opts?: ReadOptions): AsyncIterable<ReaderItem>;
  /** The same items in runs (arrays): one await per run. The pipeline reads this way. */
  readRuns(opts?: ReadOptions): AsyncIterable<readonly ReaderItem[]>;
  ack(position: Position): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  status(): PostgresReaderStatus;
  /** Bytes between the server's current WAL position and the slot's confirmed position (one query). */
  lag(): Promise<{ currentLsn: string; confirmedLsn: string | null; bytes: number }>;
  /** Published tables and their replica identity (after open). */
  readonly tables: readonly TableInfo[];
  /**
   * Copies `tables` (`schema.table`) while streaming continues (DBLog watermarks: a live change always wins over
   * the copy). `done` resolves with row counts once the last chunk has been handed to the pipeline.
   */
  requestSnapshot(tables: readonly string[], opts?: { chunkRows?: number }): SnapshotHandle;
  snapshotProgress(): readonly TableSnapshotProgress[];
  /**
   * `<system identifier>.<timeline>` of the server streaming now (after open; updated on reconnect): event ids
   * repeat across clusters and timelines, so sinks put this beside them (e.g. the NATS sink's Msg-Id).
   */
  readonly sourceId: string | null;
  /**
   * After `prepare()`: whether this start creates the replication slot (it was missing: a first run, or a failover
   * or restore lost it); after `open()` also where the created slot starts. SQL apply sinks that hold a checkpoint
   * refuse such a start (ApplyError reason CHECKPOINT).
   */
  readonly sourceStart: SourceStart | null;
  /** Always true: a `commit` item follows every transaction's events, so no batch cuts a transaction early. */
  readonly commitMarkers: true;
}
