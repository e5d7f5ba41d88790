/** Reader errors, each with its own code so callers (and the pipeline's retry logic) can tell them apart. */
import { ErrorCode, WalstreamError, type WalstreamErrorOptions } from '@walstream/core';

export class SlotActiveError extends WalstreamError {
  constructor(slot: string, pid: number | null, options?: WalstreamErrorOptions) {
    super(
      ErrorCode.SlotActive,
      `replication slot "${slot}" is active${pid ? ` for PID ${pid}` : ''}: another consumer is reading it (one consumer per slot)`,
      options,
    );
  }
}

export class SlotInvalidatedError extends WalstreamError {
  constructor(slot: string, detail: string, options?: WalstreamErrorOptions) {
    super(
      ErrorCode.SlotInvalidated,
      `replication slot "${slot}" was invalidated (${detail}): the WAL it needed is gone and changes were lost; drop the slot and re-snapshot`,
      options,
    );
  }
}

export class WalLevelError extends WalstreamError {
  constructor(level: string) {
    super(
      ErrorCode.WalLevel,
      `wal_level is "${level}"; logical replication needs wal_level=logical (then restart Postgres)`,
    );
  }
}

export class PublicationMissingError extends WalstreamError {
  /** `whileStreaming`: the server found no publication at a point of the WAL (dropped, or created after the slot). */
  constructor(publication: string, whileStreaming = false) {
    super(
      ErrorCode.PublicationMissing,
      whileStreaming
        ? `publication "${publication}" did not exist at a point of the WAL being streamed (dropped while streaming, or created after the slot); nothing past it was confirmed. Recreate it and restart, or, if the slot is older than the publication, drop the slot and start again with a snapshot`
        : `publication "${publication}" does not exist; create it (CREATE PUBLICATION ... FOR TABLE ...) or pass \`tables\` to let walstream create it`,
    );
  }
}

export class ReplicaIdentityError extends WalstreamError {
  constructor(tables: readonly string[]) {
    super(
      ErrorCode.ReplicaIdentity,
      `table(s) ${tables.join(', ')} have no usable replica identity (REPLICA IDENTITY NOTHING, or DEFAULT without a primary key) but the publication publishes UPDATE/DELETE; set a primary key or ALTER TABLE ... REPLICA IDENTITY FULL`,
    );
  }
}

export class ConnectionError extends WalstreamError {
  constructor(message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Connection, message, { retriable: true, ...options });
  }
}
