/** Snapshot errors: a stable code each, never a row value in the message. */
import { ErrorCode, WalstreamError, type WalstreamErrorOptions } from '@walstream/core';

/** A snapshot could not be taken or continued (bad request, lost checkpoint store, failed chunk query). */
export class SnapshotError extends WalstreamError {
  constructor(message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Snapshot, message, options);
  }
}

/** Snapshots read in primary-key order, so a table without a primary key cannot be copied. */
export class NoPrimaryKeyError extends WalstreamError {
  readonly table: string;
  constructor(table: string) {
    super(
      ErrorCode.NoPrimaryKey,
      `table ${table} has no primary key: snapshots copy tables in primary-key chunks; add a primary key or leave the table out of snapshot.tables`,
    );
    this.table = table;
  }
}
