/**
 * One error model for the whole SDK: a stable `code`, a `retriable` flag the Pipeline's retry loop reads,
 * and `cause` attached. Messages never carry row values or secrets: they name tables, columns, types and
 * positions only.
 */

export const ErrorCode = {
  Config: 'CONFIG',
  Sink: 'SINK',
  SinkClosed: 'SINK_CLOSED',
  RetriesExhausted: 'RETRIES_EXHAUSTED',
  Reader: 'READER',
  Decode: 'DECODE',
  Connection: 'CONNECTION',
  SlotActive: 'SLOT_ACTIVE',
  SlotInvalidated: 'SLOT_INVALIDATED',
  WalLevel: 'WAL_LEVEL',
  PublicationMissing: 'PUBLICATION_MISSING',
  ReplicaIdentity: 'REPLICA_IDENTITY',
  Stopped: 'STOPPED',
  Snapshot: 'SNAPSHOT',
  NoPrimaryKey: 'NO_PRIMARY_KEY',
  Codec: 'CODEC',
  Unknown: 'UNKNOWN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface WalstreamErrorOptions {
  cause?: unknown;
  /** Whether retrying the same operation may succeed. Unknown errors are not retriable. @default false */
  retriable?: boolean;
  /** The destination asked to wait this long before retrying (HTTP Retry-After, broker throttling). */
  retryAfterMs?: number;
}

export class WalstreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: WalstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A bad option. `field` is the dotted path of the offending option, e.g. `batch.maxEvents`. */
export class ConfigError extends WalstreamError {
  readonly field: string;
  constructor(field: string, message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Config, `invalid option ${field}: ${message}`, options);
    this.field = field;
  }
}

/** A sink failed to make a batch durable. Sinks map their client's errors onto this (retriable or not). */
export class SinkError extends WalstreamError {
  constructor(message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Sink, message, options);
  }
}

/** The final error after a retriable failure kept failing; `cause` is the last failure. */
export class RetriesExhaustedError extends WalstreamError {
  readonly attempts: number;
  readonly sink: string;
  constructor(sink: string, attempts: number, cause: unknown) {
    super(ErrorCode.RetriesExhausted, `sink ${sink} failed after ${attempts} attempts: ${describe(cause)}`, {
      cause,
    });
    this.attempts = attempts;
    this.sink = sink;
  }
}

/** Bytes from the source could not be decoded. Carries the position, never the bytes. */
export class DecodeError extends WalstreamError {
  constructor(message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Decode, message, options);
  }
}

/** True when the error is a WalstreamError marked retriable. Anything else (unknown errors) is not. */
export function isRetriable(err: unknown): boolean {
  return err instanceof WalstreamError && err.retriable;
}

/** Wraps anything thrown into a WalstreamError, keeping an existing one as it is. */
export function toWalstreamError(err: unknown, code: ErrorCode = ErrorCode.Unknown): WalstreamError {
  if (err instanceof WalstreamError) return err;
  return new WalstreamError(code, describe(err), { cause: err });
}

/** A short description of an error for messages: its name and message, nothing else. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message ? `${err.name}: ${err.message}` : err.name;
  return typeof err === 'string' ? err : 'non-error value thrown';
}
