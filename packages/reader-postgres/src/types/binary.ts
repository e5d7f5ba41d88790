/**
 * Binary-format (send/recv) value decoders, used when the reader runs pgoutput with `binary: true`. Output is
 * identical to the text decoders' (same Value for the same datum). Types without a decoder here fail loudly
 * (never silently pass bytes through): run the reader in text mode for them.
 */
import { RawJson, type Value } from '@walstream/core';
import { utf8 as utf8Slice } from '../utf8.js';
import { Oid } from './oids.js';
import { arrayWithBounds } from './text.js';

export type BinaryDecoder = (buf: Buffer, start: number, end: number) => Value;

const utf8: BinaryDecoder = utf8Slice;

const USECS_PER_DAY = 86_400_000_000n;
const EPOCH_2000_MS = 946_684_800_000;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Days since 2000-01-01 -> `YYYY-MM-DD` (`YYYY-MM-DD BC` before year 1), as Postgres' ISO output. */
function formatDate(days: number): { date: string; bc: boolean } {
  const d = new Date(EPOCH_2000_MS + days * 86_400_000);
  const y = d.getUTCFullYear();
  const bc = y <= 0;
  return { date: `${pad(bc ? 1 - y : y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`, bc };
}

/** Microseconds of the day -> `HH:MM:SS[.ffffff]` with trailing zeros trimmed. */
function formatTime(us: bigint): string {
  const total = Number(us / 1_000_000n);
  const frac = Number(us % 1_000_000n);
  let s = `${pad(Math.floor(total / 3600), 2)}:${pad(Math.floor(total / 60) % 60, 2)}:${pad(total % 60, 2)}`;
  if (frac !== 0) s += `.${pad(frac, 6).replace(/0+$/, '')}`;
  return s;
}

function timestamp(withZone: boolean): BinaryDecoder {
  return (b, s) => {
    const us = b.readBigInt64BE(s);
    if (us === INT64_MAX) return 'infinity';
    if (us === INT64_MIN) return '-infinity';
    let days = us / USECS_PER_DAY;
    let rem = us % USECS_PER_DAY;
    if (rem < 0n) {
      rem += USECS_PER_DAY;
      days -= 1n;
    }
    const { date, bc } = formatDate(Number(days));
    return `${date}T${formatTime(rem)}${withZone ? '+00:00' : ''}${bc ? ' BC' : ''}`;
  };
}

const dateDecoder: BinaryDecoder = (b, s) => {
  const days = b.readInt32BE(s);
  if (days === 0x7fffffff) return 'infinity';
  if (days === -0x80000000) return '-infinity';
  const { date, bc } = formatDate(days);
  return bc ? `${date} BC` : date;
};

const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

/** numeric: base-10000 digits with a weight and a display scale, printed as Postgres does. */
const numericDecoder: BinaryDecoder = (b, s) => {
  const ndigits = b.readInt16BE(s);
  const weight = b.readInt16BE(s + 2);
  const sign = b.readUInt16BE(s + 4);
  const dscale = b.readInt16BE(s + 6);
  if (sign === NUMERIC_NAN) return 'NaN';
  if (sign === NUMERIC_PINF) return 'Infinity';
  if (sign === NUMERIC_NINF) return '-Infinity';
  const digit = (i: number) => (i >= 0 && i < ndigits ? b.readInt16BE(s + 8 + i * 2) : 0);
  let int = '';
  for (let i = 0; i <= weight; i++) int += i === 0 ? String(digit(i)) : pad(digit(i), 4);
  if (int === '') int = '0';
  let frac = '';
  for (let i = weight + 1; frac.length < dscale; i++) frac += pad(digit(i), 4);
  frac = frac.slice(0, dscale);
  const out = dscale > 0 ? `${int}.${frac}` : int;
  return sign === NUMERIC_NEG ? `-${out}` : out;
};

/**
 * float4 arrives as a float32; as a double it would print as 3.4028234663852886e38 where Postgres (and text
 * mode) print 3.4028235e38. Take the shortest decimal that reads back as the same float32.
 */
function float4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p < 10; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

const uuidDecoder: BinaryDecoder = (b, s) => {
  const h = b.toString('hex', s, s + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** "char": one byte, printed as charout does (empty for 0, `\ooo` octal from 128 on). */
const charDecoder: BinaryDecoder = (b, s, e) => {
  if (e <= s || b[s] === 0) return '';
  const c = b[s] as number;
  return c < 128 ? String.fromCharCode(c) : `\\${c.toString(8).padStart(3, '0')}`;
};

/** money: int8 in cents (lc_monetary=C has 2 fraction digits) -> `-1234.50`, as the text decoder gives. */
const moneyDecoder: BinaryDecoder = (b, s) => {
  const v = b.readBigInt64BE(s);
  const abs = v < 0n ? -v : v;
  const cents = String(abs % 100n).padStart(2, '0');
  return `${v < 0n ? '-' : ''}${abs / 100n}.${cents}`;
};

const BY_OID = new Map<number, BinaryDecoder>([
  [Oid.money, moneyDecoder],
  [Oid.bool, (b, s) => b[s] === 1],
  [Oid.bytea, (b, s, e) => new Uint8Array(b.buffer.slice(b.byteOffset + s, b.byteOffset + e))],
  [Oid.char, charDecoder],
  [Oid.name, utf8],
  [Oid.text, utf8],
  [Oid.varchar, utf8],
  [Oid.bpchar, utf8],
  [Oid.xml, utf8],
  [Oid.int2, (b, s) => b.readInt16BE(s)],
  [Oid.int4, (b, s) => b.readInt32BE(s)],
  [Oid.oid, (b, s) => b.readUInt32BE(s)],
  [Oid.xid, (b, s) => b.readUInt32BE(s)],
  [Oid.int8, (b, s) => b.readBigInt64BE(s)],
  [Oid.float4, (b, s) => float4(b.readFloatBE(s))],
  [Oid.float8, (b, s) => b.readDoubleBE(s)],
  [Oid.numeric, numericDecoder],
  [Oid.json, (b, s, e) => new RawJson(utf8Slice(b, s, e))],
  [Oid.jsonb, (b, s, e) => new RawJson(utf8Slice(b, s + 1, e))], // version byte 1, then text
  [Oid.uuid, uuidDecoder],
  [Oid.date, dateDecoder],
  [Oid.time, (b, s) => formatTime(b.readBigInt64BE(s))],
  [Oid.timestamp, timestamp(false)],
  [Oid.timestamptz, timestamp(true)],
]);

export function builtinBinaryDecoder(oid: number): BinaryDecoder | undefined {
  return BY_OID.get(oid);
}

/**
 * Binary arrays: ndim, has-null flag, element oid, (size, lower bound) per dimension, then elements. Lower
 * bounds other than 1 are kept as text mode keeps them (see `arrayWithBounds`).
 */
export function binaryArray(element: BinaryDecoder): BinaryDecoder {
  return (b, s) => {
    const ndim = b.readInt32BE(s);
    if (ndim === 0) return [];
    const dims: number[] = [];
    let bounds = '';
    let defaultBounds = true;
    for (let d = 0; d < ndim; d++) {
      const size = b.readInt32BE(s + 12 + d * 8);
      const lower = b.readInt32BE(s + 16 + d * 8);
      dims.push(size);
      if (lower !== 1) defaultBounds = false;
      bounds += `[${lower}:${lower + size - 1}]`;
    }
    let off = s + 12 + ndim * 8;
    const build = (d: number): Value[] => {
      const out: Value[] = [];
      for (let i = 0; i < (dims[d] as number); i++) {
        if (d < ndim - 1) {
          out.push(build(d + 1));
          continue;
        }
        const len = b.readInt32BE(off);
        off += 4;
        if (len < 0) out.push(null);
        else {
          out.push(element(b, off, off + len));
          off += len;
        }
      }
      return out;
    };
    const values = build(0);
    return defaultBounds ? values : arrayWithBounds(bounds, values);
  };
}
