import { ErrorCode, WalstreamError, type WalstreamErrorOptions } from './errors.js';

/** Bytes that are not a valid encoded event. */
export class CodecError extends WalstreamError {
  constructor(message: string, options?: WalstreamErrorOptions) {
    super(ErrorCode.Codec, message, options);
  }
}
