import { Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeEventMsgpack, decodeMsgpackRecords, encodeEventMsgpack } from './codec-msgpack.js';
import { RawJson } from './event.js';
import { RAW_JSON_EXT, recordLength, writeMsgpack } from './msgpack-writer.js';
import { valueZoo } from './testing/contract.js';

// The library's encoder as configured before walstream had its own: the reference for byte compatibility.
const ext = new ExtensionCodec();
ext.register({
  type: RAW_JSON_EXT,
  encode: (v: unknown) => (v instanceof RawJson ? new TextEncoder().encode(v.text) : null),
  decode: (d: Uint8Array) => d,
});
const reference = new Encoder({ extensionCodec: ext, useBigInt64: true, ignoreUndefined: true });

const corpus: unknown[] = [
  null,
  true,
  false,
  0,
  1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  0n,
  -1n,
  2n ** 64n - 1n,
  -(2n ** 63n),
  '',
  'a'.repeat(31),
  'a'.repeat(32),
  'é'.repeat(200),
  'x'.repeat(70_000),
  new Uint8Array(0),
  new Uint8Array(300).fill(7),
  new Uint8Array(70_000),
  [],
  Array.from({ length: 15 }, (_, i) => i),
  Array.from({ length: 16 }, (_, i) => i),
  Array.from({ length: 70_000 }, () => 1),
  {},
  Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
  { a: undefined, b: 1 },
  new RawJson(''),
  new RawJson('1'),
  new RawJson('{"n":12345678901234567890}'),
  new RawJson('x'.repeat(300)),
  new RawJson('x'.repeat(70_000)),
  { nested: [{ deep: [1, 'two', null, new Uint8Array([1])] }] },
];

describe('msgpack writer', () => {
  it('writes the same bytes as @msgpack/msgpack for every kind of value', () => {
    for (const v of corpus) expect(Buffer.from(writeMsgpack(v)).equals(Buffer.from(reference.encode(v)))).toBe(true);
  });

  it('keeps -0 (as float64), where the library wrote integer 0', () => {
    expect([...writeMsgpack(-0)]).toEqual([0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    const e = valueZoo();
    expect(Object.is(decodeEventMsgpack(encodeEventMsgpack(e)).after?.negzero, -0)).toBe(true);
  });

  it('measures each record, and says -1 for every torn prefix', () => {
    for (const v of corpus.slice(0, 40)) {
      const bytes = writeMsgpack(v);
      expect(recordLength(bytes)).toBe(bytes.length);
      if (bytes.length < 400)
        for (let cut = 0; cut < bytes.length; cut++) expect(recordLength(bytes.subarray(0, cut))).toBe(-1);
    }
  });

  it('finds the whole records of a torn stream', () => {
    const records = [writeMsgpack({ a: 1 }), writeMsgpack([1, 'x']), writeMsgpack(new RawJson('{"b":2}'))];
    const all = Buffer.concat(records);
    for (let cut = 0; cut <= all.length; cut++) {
      const { values, validBytes } = decodeMsgpackRecords(all.subarray(0, cut));
      let whole = 0;
      let n = 0;
      for (const r of records) {
        if (whole + r.length > cut) break;
        whole += r.length;
        n++;
      }
      expect(validBytes).toBe(whole);
      expect(values).toHaveLength(n);
    }
  });
});
