/**
 * Errors of the physical package. Core's ErrorCode has no codes for backups and restores, so these reuse the
 * nearest ones (READER, SINK, CONNECTION, CONFIG) and tell themselves apart by class name.
 */
import { ErrorCode, WalstreamError, type WalstreamErrorOptions } from '@walstream/core';

/** The replication connection could not be opened or was lost. Retriable. */
export class PhysicalConnectionError extends WalstreamError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Connection, message, { cause, retriable: true });
  }
}

/** The server answered a replication command with an error. */
export class PhysicalServerError extends WalstreamError {
  /** The SQLSTATE the server sent, when it sent one. */
  readonly sqlState: string | undefined;
  constructor(err: { code?: string; message: string }, options?: WalstreamErrorOptions) {
    // 08xxx: connection exceptions; 57P01-57P03: the server is shutting down or terminated this backend.
    const lost = err.code?.startsWith('08') || err.code === '57P01' || err.code === '57P02' || err.code === '57P03';
    const code = err.code === '55006' ? ErrorCode.SlotActive : lost ? ErrorCode.Connection : ErrorCode.Reader;
    super(code, `server error${err.code ? ` ${err.code}` : ''}: ${err.message}`, {
      ...options,
      retriable: options?.retriable ?? code === ErrorCode.Connection,
    });
    this.sqlState = err.code;
  }
}

/** The WAL archive would get a hole: data arrived past the archive's end, or a segment is missing. */
export class WalGapError extends WalstreamError {
  constructor(message: string) {
    super(ErrorCode.Sink, message, { retriable: false });
  }
}

/** The WAL archive directory cannot be written (permissions, disk full, a broken file). */
export class WalArchiveError extends WalstreamError {
  constructor(message: string, cause?: unknown, retriable = false) {
    super(ErrorCode.Sink, message, { cause, retriable });
  }
}

/** BASE_BACKUP failed or its stream could not be stored. */
export class BaseBackupError extends WalstreamError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Reader, message, { cause });
  }
}

/** A restore could not prepare, start or recover the data directory. */
export class RestoreError extends WalstreamError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Unknown, message, { cause });
  }
}
