/**
 * A MessagePack writer specialised for ChangeEvents, byte for byte what core's `encodeEventMsgpack` produces
 * (same key order, integers in the smallest form, bigint as uint64/int64, -0 and non-integers as float64,
 * RawJson as extension 1, undefined map values left out). It writes straight into one growing buffer, so a
 * batch message is encoded without an intermediate object or buffer per event: the generic encoder was the
 * largest share of the sink's CPU time. Anything it does not know falls back to the generic encoder.
 */
import { type ChangeEvent, encodeEventMsgpack, formatLsn, RawJson } from '@walstream/core';
import { PROTO_KEY } from '@walstream/core/internal';

const RAW_JSON_EXT = 1;

class Unsupported extends Error {}

const FIXEXT: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };

/**
 * `buf.write(s, offset, 'utf8')` without its argument checks and encoding lookup: Buffer's own utf8Write, where
 * this Node has it. The caller has made room for the whole string (3 bytes per UTF-16 unit).
 */
const writeUtf8: (b: Buffer, s: string, offset: number) => number =
  typeof (Buffer.prototype as { utf8Write?: unknown }).utf8Write === 'function'
    ? (b, s, offset) => (b as Buffer & { utf8Write(s: string, o: number): number }).utf8Write(s, offset)
    : (b, s, offset) => b.write(s, offset, 'utf8');

export class MsgpackWriter {
  buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  pos = 0;
  private lastLsn = -1n;
  private readonly keys = new Map<string, Buffer>();
  private lastLsnText = '';

  reset(): void {
    this.pos = 0;
  }

  /** A copy of bytes [from, pos). */
  copy(from = 0): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, from, this.pos);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends one event; returns its encoded size. */
  event(e: ChangeEvent): number {
    const start = this.pos;
    try {
      if (Object.getPrototypeOf(e) !== Object.prototype) throw new Unsupported();
      this.map(e as unknown as Record<string, unknown>, true);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      this.pos = start;
      const bytes = encodeEventMsgpack(e);
      this.ensure(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
    return this.pos - start;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xdc;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdd;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  private lsnText(lsn: bigint): string {
    if (lsn !== this.lastLsn) {
      this.lastLsn = lsn;
      this.lastLsnText = formatLsn(lsn);
    }
    return this.lastLsnText;
  }

  private map(o: Record<string, unknown>, top: boolean): void {
    // for...in, not Object.keys: V8 reads `o[k]` inside a for...in through the object's enum cache (no array
    // per map, no megamorphic keyed load), which measured about twice as fast on events. Maps reach here only
    // with Object.prototype (or are the event itself, checked in event()), so no inherited key is enumerated.
    // One pass: the header is written after the entries into the byte kept for it (fixmap, under 16 entries,
    // is every event and row map in practice); a larger map moves its entries up to make room for a longer one.
    this.ensure(1);
    const at = this.pos++;
    let n = 0;
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (k === '__proto__') throw new TypeError(PROTO_KEY); // see core's msgpack-writer
      n++;
      this.key(k);
      if (top && k === 'position') {
        const p = v as { lsn: bigint; index: number };
        this.ensure(1);
        this.buf[this.pos++] = 0x82;
        this.key('lsn');
        this.string(this.lsnText(p.lsn));
        this.key('index');
        this.value(p.index);
      } else this.value(v);
    }
    if (n < 16) {
      this.buf[at] = 0x80 | n;
      return;
    }
    const head = n < 0x10000 ? 3 : 5;
    this.ensure(head - 1);
    const b = this.buf;
    b.copyWithin(at + head, at + 1, this.pos);
    this.pos += head - 1;
    if (head === 3) {
      b[at] = 0xde;
      b.writeUInt16BE(n, at + 1);
    } else {
      b[at] = 0xdf;
      b.writeUInt32BE(n, at + 1);
    }
  }

  /** Map keys repeat from event to event: their encoding is cached. */
  private key(k: string): void {
    let enc = this.keys.get(k);
    if (enc === undefined) {
      const start = this.pos;
      this.string(k);
      enc = Buffer.from(this.buf.subarray(start, this.pos));
      if (this.keys.size < 4096) this.keys.set(k, enc);
      return;
    }
    this.ensure(enc.length);
    if (enc.length <= 16) {
      const b = this.buf;
      for (let i = 0; i < enc.length; i++) b[this.pos++] = enc[i] as number;
    } else {
      this.buf.set(enc, this.pos);
      this.pos += enc.length;
    }
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.string(v);
        return;
      case 'number':
        this.number(v);
        return;
      case 'bigint':
        this.ensure(9);
        if (v >= 0n) {
          this.buf[this.pos++] = 0xcf;
          this.buf.writeBigUInt64BE(v, this.pos);
        } else {
          this.buf[this.pos++] = 0xd3;
          this.buf.writeBigInt64BE(v, this.pos);
        }
        this.pos += 8;
        return;
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'undefined':
        this.ensure(1);
        this.buf[this.pos++] = 0xc0;
        return;
      case 'object':
        // Plain objects and arrays first: an event's key, rows and unchanged list.
        if (v === null) {
          this.ensure(1);
          this.buf[this.pos++] = 0xc0;
        } else if (Array.isArray(v)) {
          this.arrayHeader(v.length);
          for (const x of v) this.value(x);
        } else if (Object.getPrototypeOf(v) === Object.prototype) this.map(v as Record<string, unknown>, false);
        else if (v instanceof Uint8Array) this.binary(v);
        else if (v instanceof RawJson) this.ext(RAW_JSON_EXT, Buffer.from(v.text, 'utf8'));
        else throw new Unsupported();
        return;
      default:
        throw new Unsupported();
    }
  }

  private number(n: number): void {
    this.ensure(9);
    const b = this.buf;
    if (Number.isSafeInteger(n) && !(n === 0 && 1 / n < 0) && n < 0x100000000 && n >= -0x80000000) {
      if (n >= 0) {
        if (n < 0x80) b[this.pos++] = n;
        else if (n < 0x100) {
          b[this.pos++] = 0xcc;
          b[this.pos++] = n;
        } else if (n < 0x10000) {
          b[this.pos++] = 0xcd;
          b.writeUInt16BE(n, this.pos);
          this.pos += 2;
        } else {
          b[this.pos++] = 0xce;
          b.writeUInt32BE(n, this.pos);
          this.pos += 4;
        }
      } else if (n >= -0x20) b[this.pos++] = 0xe0 | (n + 0x20);
      else if (n >= -0x80) {
        b[this.pos++] = 0xd0;
        b.writeInt8(n, this.pos++);
      } else if (n >= -0x8000) {
        b[this.pos++] = 0xd1;
        b.writeInt16BE(n, this.pos);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        b.writeInt32BE(n, this.pos);
        this.pos += 4;
      }
      return;
    }
    // Larger safe integers too: with useBigInt64 the generic encoder writes them as float64.
    b[this.pos++] = 0xcb;
    b.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  private string(s: string): void {
    const len = s.length;
    this.ensure(5 + len * 3);
    if (len >= 32) {
      // From 32 characters on, Node's native UTF-8 write beats the loop below (a 150-character column: about a
      // fifth of the event's encoding). It writes after a str8 header's room; the header is filled in after,
      // the bytes moved up in the rare case that needs a longer one. 32 characters are at least 32 bytes: never
      // a fixstr.
      const start = this.pos;
      const b = this.buf;
      const n = writeUtf8(b, s, start + 2);
      if (n < 0x100) {
        b[start] = 0xd9;
        b[start + 1] = n;
        this.pos = start + 2 + n;
        return;
      }
      const head = n < 0x10000 ? 3 : 5;
      b.copyWithin(start + head, start + 2, start + 2 + n);
      this.strHeader(n);
      this.pos = start + head + n;
      return;
    }
    // Most strings (keys, ids, column values) are short ASCII: copy the characters in one JS pass under the
    // fixstr header (for ASCII, characters = bytes), and fall back on the first non-ASCII one. A loop beats the
    // native byteLength + write calls at these lengths.
    const b = this.buf;
    const start = this.pos;
    let p = start + 1;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        p = -1;
        break;
      }
      b[p++] = c;
    }
    if (p >= 0) {
      b[start] = 0xa0 | len;
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.strHeader(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }

  private strHeader(n: number): void {
    const b = this.buf;
    if (n < 32) b[this.pos++] = 0xa0 | n;
    else if (n < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xda;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdb;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  private binary(v: Uint8Array): void {
    const n = v.byteLength;
    this.ensure(5 + n);
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = 0xc4;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xc5;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xc6;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    b.set(v, this.pos);
    this.pos += n;
  }

  private ext(type: number, data: Uint8Array): void {
    const n = data.length;
    this.ensure(6 + n);
    const b = this.buf;
    const f = FIXEXT[n];
    if (f !== undefined) b[this.pos++] = f;
    else if (n < 0x100) {
      b[this.pos++] = 0xc7;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xc8;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xc9;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    b[this.pos++] = type;
    b.set(data, this.pos);
    this.pos += n;
  }
}
