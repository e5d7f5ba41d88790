import { SinkError, type WalstreamErrorOptions } from '@walstream/core';

/** Why an apply sink refused or failed a write; stable, for programs that branch on it. */
export const ApplyErrorReason = {
  /** A source schema change the options forbid, or one that cannot be applied (narrowing a type). */
  Schema: 'SCHEMA',
  /** A value the target cannot hold exactly (NaN into DECIMAL, infinity dates, numbers that would round). */
  Value: 'VALUE',
  /** A table or column name the target cannot hold (too long, trailing space, NUL). */
  Identifier: 'IDENTIFIER',
  /** The target table is missing, has no primary key, or lacks a mapped column. */
  Target: 'TARGET',
  /** A transaction larger than `maxPendingBytes` lost its target connection half-applied. */
  Transaction: 'TRANSACTION',
  /**
   * The target holds a checkpoint for this pipeline and sink, but the reader creates its replication slot fresh in
   * this start (a failover or restore lost it): new changes at or before the checkpoint would be skipped, and the
   * ones made while no slot existed were never captured. Raised by open(), before the slot is created.
   */
  Checkpoint: 'CHECKPOINT',
} as const;
export type ApplyErrorReason = (typeof ApplyErrorReason)[keyof typeof ApplyErrorReason];

/**
 * A SinkError with a `reason`. Messages name tables, columns, types and positions, never row values.
 * Only connection-level failures are retriable; these are not (a retry would fail the same way).
 */
export class ApplyError extends SinkError {
  readonly reason: ApplyErrorReason;
  constructor(reason: ApplyErrorReason, message: string, options?: WalstreamErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
