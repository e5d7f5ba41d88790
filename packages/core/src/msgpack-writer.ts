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
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  pos = 0;

  room(n: number): void {
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
    if (size === 1) this.buf[this.pos] = v;
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
  /** A str value: header then UTF-8, written in place (no intermediate buffer). */
  str(s: string): void {
    const len = s.length;
    if (len < 32) {
      // Short strings (keys, most values): count and write UTF-8 by hand, as the header depends on the count.
      let bytes = 0;
      let ascii = true;
      for (let i = 0; i < len; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.room(1 + len);
        this.buf[this.pos++] = 0xa0 + len;
        for (let i = 0; i < len; i++) this.buf[this.pos++] = s.charCodeAt(i);
        return;
      }
      bytes = utf8.encode(s).length;
      this.strHeader(bytes);
      this.room(bytes);
      utf8.encodeInto(s, this.buf.subarray(this.pos));
      this.pos += bytes;
      return;
    }
    // Longer: reserve the largest header, encode in place, then close the gap if the header is shorter.
    this.room(5 + len * 3);
    const start = this.pos;
    const { written } = utf8.encodeInto(s, this.buf.subarray(start + 5));
    const h = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
    if (h < 5) this.buf.copyWithin(start + h, start + 5, start + 5 + written);
    this.strHeader(written);
    this.pos = start + h + written;
  }
  private strHeader(n: number): void {
    if (n < 32) this.u8(0xa0 + n);
    else if (n < 0x100) this.head(0xd9, 1, n);
    else if (n < 0x10000) this.head(0xda, 2, n);
    else this.head(0xdb, 4, n);
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

function ext(w: Writer, type: number, data: Uint8Array): void {
  const n = data.length;
  if (n === 1) w.u8(0xd4);
  else if (n === 2) w.u8(0xd5);
  else if (n === 4) w.u8(0xd6);
  else if (n === 8) w.u8(0xd7);
  else if (n === 16) w.u8(0xd8);
  else if (n < 0x100) w.head(0xc7, 1, n);
  else if (n < 0x10000) w.head(0xc8, 2, n);
  else w.head(0xc9, 4, n);
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
    case 'string':
      return w.str(v);
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} as MessagePack`);
  }
  if (Array.isArray(v)) {
    const n = v.length;
    if (n < 16) w.u8(0x90 + n);
    else if (n < 0x10000) w.head(0xdc, 2, n);
    else w.head(0xdd, 4, n);
    for (let i = 0; i < n; i++) value(w, v[i], depth + 1);
    return;
  }
  if (v instanceof RawJson) return ext(w, RAW_JSON_EXT, utf8.encode(v.text));
  if (ArrayBuffer.isView(v)) {
    const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const n = b.length;
    if (n < 0x100) w.head(0xc4, 1, n);
    else if (n < 0x10000) w.head(0xc5, 2, n);
    else w.head(0xc6, 4, n);
    return w.raw(b);
  }
  const o = v as Record<string, unknown>;
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return fields(w, o, Object.keys(o), depth);
  // Plain objects (events, rows) with for...in: V8 reads `o[k]` through the enum cache, without a key array
  // or a megamorphic keyed load; such objects have no inherited enumerable keys, so the keys are Object.keys'.
  let n = 0;
  for (const k in o) {
    if (o[k] === undefined) continue;
    if (k === '__proto__') throw new TypeError(PROTO_KEY);
    n++;
  }
  mapHeader(w, n);
  for (const k in o) {
    const x = o[k];
    if (x === undefined) continue;
    w.str(k);
    value(w, x, depth + 1);
  }
}

function mapHeader(w: Writer, n: number): void {
  if (n < 16) w.u8(0x80 + n);
  else if (n < 0x10000) w.head(0xde, 2, n);
  else w.head(0xdf, 4, n);
}

/**
 * @msgpack/msgpack (walstream's decoder, and the file sink's on reopen) refuses a map key `__proto__`: a record
 * holding one could never be read back. Such a column fails the write, with a typed error, instead. Both
 * MessagePack writers (this one and sink-nats') say so with this message.
 */
export const PROTO_KEY =
  'a map key named __proto__ (a column of that name) cannot be written as MessagePack: its decoders refuse it; use JSON';

/** Own enumerable fields of any other object, as a map. */
function fields(w: Writer, o: Record<string, unknown>, keys: string[], depth: number): void {
  let n = 0;
  for (const k of keys) if (o[k] !== undefined) n++;
  mapHeader(w, n);
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    w.str(k);
    value(w, x, depth + 1);
  }
}

// One writer reused by every call (encoding never re-enters itself); each call returns a copy of its bytes.
const shared = new Writer();

/** Encodes a value: maps, arrays, strings, numbers (-0 kept), bigint as int64/uint64, bytes as bin, RawJson as ext 1. */
export function writeMsgpack(v: unknown): Uint8Array {
  shared.pos = 0;
  try {
    value(shared, v, 0);
    return shared.buf.slice(0, shared.pos);
  } finally {
    // A huge value must not keep its buffer alive for the life of the process.
    if (shared.buf.length > 1 << 20) {
      shared.buf = new Uint8Array(4096);
      shared.view = new DataView(shared.buf.buffer);
    }
  }
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
