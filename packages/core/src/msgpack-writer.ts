/**
 * walstream's own MessagePack encoder (the decoder is @msgpack/msgpack's public API). It writes the same bytes as
 * @msgpack/msgpack's Encoder with `useBigInt64` and `ignoreUndefined`, except that -0 stays a float64 -0
 * (that encoder writes it as integer 0) and nothing private of that library is touched.
 * Also: `recordLength`, the byte length of one encoded value, to find whole records in a torn file.
 */
import { RawJson } from './event.js';

export const RAW_JSON_EXT = 1;
const MAX_DEPTH = 100;
const utf8 = new TextEncoder();

class Writer {
  private buf = new Uint8Array(2048);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  head(tag: number, size: 1 | 2 | 4, v: number): void {
    this.room(1 + size);
    this.buf[this.pos++] = tag;
    if (size === 1) this.view.setUint8(this.pos, v);
    else if (size === 2) this.view.setUint16(this.pos, v);
    else this.view.setUint32(this.pos, v);
    this.pos += size;
  }
  signed(tag: number, size: 1 | 2 | 4, v: number): void {
    this.room(1 + size);
    this.buf[this.pos++] = tag;
    if (size === 1) this.view.setInt8(this.pos, v);
    else if (size === 2) this.view.setInt16(this.pos, v);
    else this.view.setInt32(this.pos, v);
    this.pos += size;
  }
  f64(v: number): void {
    this.room(9);
    this.buf[this.pos++] = 0xcb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  big(v: bigint): void {
    this.room(9);
    if (v >= 0n) {
      this.buf[this.pos++] = 0xcf;
      this.view.setBigUint64(this.pos, v);
    } else {
      this.buf[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, v);
    }
    this.pos += 8;
  }
  raw(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
}

function number(w: Writer, n: number) {
  if (!Number.isSafeInteger(n) || (n === 0 && 1 / n < 0)) return w.f64(n);
  if (n >= 0) {
    if (n < 0x80) w.u8(n);
    else if (n < 0x100) w.head(0xcc, 1, n);
    else if (n < 0x10000) w.head(0xcd, 2, n);
    else if (n < 0x100000000) w.head(0xce, 4, n);
    else w.f64(n); // what @msgpack/msgpack does with useBigInt64: past 32 bits a number is a float
    return;
  }
  if (n >= -0x20) w.u8(0xe0 | (n + 0x20));
  else if (n >= -0x80) w.signed(0xd0, 1, n);
  else if (n >= -0x8000) w.signed(0xd1, 2, n);
  else if (n >= -0x80000000) w.signed(0xd2, 4, n);
  else w.f64(n);
}

function sized(
  w: Writer,
  size: number,
  fix: number | null,
  fixMax: number,
  t8: number | null,
  t16: number,
  t32: number,
) {
  if (fix !== null && size < fixMax) w.u8(fix + size);
  else if (t8 !== null && size < 0x100) w.head(t8, 1, size);
  else if (size < 0x10000) w.head(t16, 2, size);
  else w.head(t32, 4, size);
}

function ext(w: Writer, type: number, data: Uint8Array): void {
  const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
  const tag = fixed[data.length];
  if (tag !== undefined) w.u8(tag);
  else sized(w, data.length, null, 0, 0xc7, 0xc8, 0xc9);
  w.u8(type & 0xff);
  w.raw(data);
}

function value(w: Writer, v: unknown, depth: number) {
  if (depth > MAX_DEPTH) throw new RangeError(`MessagePack value nested deeper than ${MAX_DEPTH}`);
  if (v === null || v === undefined) return w.u8(0xc0);
  switch (typeof v) {
    case 'boolean':
      return w.u8(v ? 0xc3 : 0xc2);
    case 'number':
      return number(w, v);
    case 'bigint':
      return w.big(v);
    case 'string': {
      const b = utf8.encode(v);
      sized(w, b.length, 0xa0, 32, 0xd9, 0xda, 0xdb);
      return w.raw(b);
    }
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} as MessagePack`);
  }
  if (v instanceof RawJson) return ext(w, RAW_JSON_EXT, utf8.encode(v.text));
  if (Array.isArray(v)) {
    sized(w, v.length, 0x90, 16, null, 0xdc, 0xdd);
    for (const x of v) value(w, x, depth + 1);
    return;
  }
  if (ArrayBuffer.isView(v)) {
    const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    sized(w, b.length, null, 0, 0xc4, 0xc5, 0xc6);
    return w.raw(b);
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined);
  sized(w, keys.length, 0x80, 16, null, 0xde, 0xdf);
  for (const k of keys) {
    value(w, k, depth + 1);
    value(w, o[k], depth + 1);
  }
}

/** Encodes a value: maps, arrays, strings, numbers (-0 kept), bigint as int64/uint64, bytes as bin, RawJson as ext 1. */
export function writeMsgpack(v: unknown): Uint8Array {
  const w = new Writer();
  value(w, v, 0);
  return w.bytes();
}

/**
 * The byte length of the MessagePack value starting at `offset`, or -1 when `bytes` ends inside it (a torn
 * record). Throws RangeError on a byte that starts no value (0xc1).
 */
export function recordLength(bytes: Uint8Array, offset = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = offset;
  let pending = 1; // values still to skip
  const need = (n: number) => pos + n <= bytes.length;
  while (pending > 0) {
    if (!need(1)) return -1;
    const b = bytes[pos++] as number;
    pending--;
    let skip = 0;
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3)) skip = 0;
    else if (b >= 0x80 && b <= 0x8f) pending += 2 * (b & 0x0f);
    else if (b >= 0x90 && b <= 0x9f) pending += b & 0x0f;
    else if (b >= 0xa0 && b <= 0xbf) skip = b & 0x1f;
    else if (b === 0xc1) throw new RangeError(`0xc1 starts no MessagePack value (offset ${pos - 1})`);
    else {
      const lenBytes: Record<number, [size: 1 | 2 | 4, extra: number]> = {
        196: [1, 0],
        197: [2, 0],
        198: [4, 0],
        199: [1, 1],
        200: [2, 1],
        201: [4, 1],
        217: [1, 0],
        218: [2, 0],
        219: [4, 0],
      };
      const fixed: Record<number, number> = {
        202: 4,
        203: 8,
        204: 1,
        205: 2,
        206: 4,
        207: 8,
        208: 1,
        209: 2,
        210: 4,
        211: 8,
        212: 2,
        213: 3,
        214: 5,
        215: 9,
        216: 17,
      };
      const lb = lenBytes[b];
      if (lb !== undefined) {
        if (!need(lb[0])) return -1;
        const n = lb[0] === 1 ? view.getUint8(pos) : lb[0] === 2 ? view.getUint16(pos) : view.getUint32(pos);
        pos += lb[0];
        skip = n + lb[1];
      } else if (fixed[b] !== undefined) {
        skip = fixed[b] as number;
      } else {
        const size = b === 0xdc || b === 0xde ? 2 : 4;
        if (!need(size)) return -1;
        const n = size === 2 ? view.getUint16(pos) : view.getUint32(pos);
        pos += size;
        pending += b === 0xde || b === 0xdf ? 2 * n : n;
      }
    }
    if (!need(skip)) return -1;
    pos += skip;
  }
  return pos - offset;
}
