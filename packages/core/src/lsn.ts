/**
 * Log sequence numbers: 64-bit WAL byte positions. Inside walstream they are `bigint` (cheap compare, no
 * precision loss); outside they are Postgres' `X/Y` text (upper 32 bits / lower 32 bits, hex).
 */
import { ConfigError } from './errors.js';

export type Lsn = bigint;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses `16/B374D848` into a bigint. Throws ConfigError on anything else. */
export function parseLsn(text: string): Lsn {
  const m = LSN_TEXT.exec(text);
  if (!m) throw new ConfigError('lsn', `expected X/Y hexadecimal, got ${JSON.stringify(text.slice(0, 40))}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Formats a bigint LSN as Postgres does: upper and lower 32 bits in upper-case hex, no padding. */
export function formatLsn(lsn: Lsn): string {
  const hi = Number(lsn >> 32n);
  const lo = Number(lsn & 0xffffffffn);
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** Builds an LSN from the two 32-bit halves as they are read off the wire. */
export function lsnFromParts(hi: number, lo: number): Lsn {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export const ZERO_LSN: Lsn = 0n;
