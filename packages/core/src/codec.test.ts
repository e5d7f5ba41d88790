import { describe, expect, it } from 'vitest';
import { CodecError } from './codec-error.js';
import { decodeEventJson, encodeEventJson } from './codec-json.js';
import { decodeEventMsgpack, decodeMsgpackRecords, encodeEventMsgpack } from './codec-msgpack.js';
import { RawJson } from './event.js';
import { makeEvent, valueZoo } from './testing/index.js';

describe('canonical JSON', () => {
  it('writes exactly the envelope of ARCHITECTURE.md', () => {
    const e = makeEvent({
      lsn: 0x16b3748n,
      index: 3,
      timestamp: '2026-05-03T02:40:00.000Z',
      transactionId: '748',
      database: 'shop',
      table: 'orders',
      key: { id: 42 },
      after: { id: 42, status: 'completed', amount: '299.99' },
    });
    expect(JSON.parse(encodeEventJson(e))).toEqual({
      id: '0/16B3748:3',
      position: { lsn: '0/16B3748', index: 3 },
      operation: 'INSERT',
      timestamp: '2026-05-03T02:40:00.000Z',
      transactionId: '748',
      database: 'shop',
      schema: 'public',
      table: 'orders',
      key: { id: 42 },
      before: null,
      after: { id: 42, status: 'completed', amount: '299.99' },
      unchanged: [],
    });
  });

  it('keeps int8, NaN, infinities, -0, bytes and big integers inside json exact', () => {
    const e = makeEvent({
      after: {
        big: 9223372036854775807n,
        nan: Number.NaN,
        pinf: Number.POSITIVE_INFINITY,
        ninf: Number.NEGATIVE_INFINITY,
        negzero: -0,
        bytes: new Uint8Array([222, 173, 190, 239]),
        doc: new RawJson('{"n":123456789012345678901234567890}'),
      },
    });
    const text = encodeEventJson(e);
    expect(text).toContain('"big":"9223372036854775807"');
    expect(text).toContain('"nan":"NaN","pinf":"Infinity","ninf":"-Infinity","negzero":-0');
    expect(text).toContain('"bytes":"3q2+7w=="');
    expect(text).toContain('"doc":{"n":123456789012345678901234567890}');
  });

  it('round-trips through decode', () => {
    const e = valueZoo();
    const once = encodeEventJson(e);
    expect(encodeEventJson(decodeEventJson(once))).toBe(once);
    const msg = makeEvent({
      operation: 'MESSAGE',
      after: null,
      key: null,
      message: { prefix: 'app', content: new Uint8Array([1, 2, 3]), transactional: true },
    });
    expect(encodeEventJson(decodeEventJson(encodeEventJson(msg)))).toBe(encodeEventJson(msg));
  });

  it('rejects bad input with a CodecError that quotes no values', () => {
    expect(() => decodeEventJson('{"id":')).toThrow(CodecError);
    expect(() => decodeEventJson('{"position":{"lsn":"0/1","index":0},"id":7}')).toThrow(/event.id must be a string/);
  });
});

describe('MessagePack', () => {
  it('round-trips every value exactly', () => {
    const e = valueZoo();
    const back = decodeEventMsgpack(encodeEventMsgpack(e));
    expect(back).toEqual(e);
    expect(back.position.lsn).toBe(e.position.lsn);
    expect((back.after as Record<string, unknown>).big).toBe(9223372036854775807n);
    expect((back.after as Record<string, unknown>).json).toBeInstanceOf(RawJson);
    expect(Object.is((back.after as Record<string, unknown>).negzero, -0)).toBe(true);
  });

  it('rejects garbage with a CodecError', () => {
    expect(() => decodeEventMsgpack(new Uint8Array([0xc1]))).toThrow(CodecError);
  });
});

describe('column names of Object.prototype', () => {
  it('keeps a column named __proto__ through JSON decode', () => {
    const after = JSON.parse('{"__proto__": 1, "constructor": "c"}') as Record<string, number | string>;
    const d = decodeEventJson(encodeEventJson(makeEvent({ key: null, after })));
    expect(Object.getPrototypeOf(d.after)).toBe(Object.prototype);
    expect(Object.keys(d.after ?? {})).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(d.after, '__proto__')?.value).toBe(1);
  });
});

describe('MessagePack and a column named __proto__', () => {
  it('refuses to write it (its decoders refuse it: the record could never be read back)', () => {
    const after = JSON.parse('{"id": 1, "__proto__": "v"}') as Record<string, number | string>;
    expect(() => encodeEventMsgpack(makeEvent({ key: null, after }))).toThrow(CodecError);
    expect(() => encodeEventMsgpack(makeEvent({ key: null, after }))).toThrow(/__proto__/);
  });

  it('never cuts whole records away: a bad record in the middle is an error, a bad last one a torn write', () => {
    const a = encodeEventMsgpack(makeEvent({ index: 0 }));
    const b = encodeEventMsgpack(makeEvent({ index: 1 }));
    // 0xa9 "__proto__" as a map key: a whole record the decoder refuses.
    const bad = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x01]);
    const join = (...parts: Uint8Array[]) => Buffer.concat(parts);
    expect(decodeMsgpackRecords(join(a, b, bad)).validBytes).toBe(a.length + b.length);
    expect(decodeMsgpackRecords(join(a, b, b.subarray(0, 5))).validBytes).toBe(a.length + b.length);
    expect(() => decodeMsgpackRecords(join(a, bad, b))).toThrow(CodecError);
  });
});
