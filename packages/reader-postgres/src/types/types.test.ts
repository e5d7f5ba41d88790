import { DecodeError, RawJson } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { builtinBinaryDecoder } from './binary.js';
import { Oid } from './oids.js';
import { TypeRegistry } from './registry.js';
import { asText, builtinTextDecoder, parseArray } from './text.js';

describe('text decoders', () => {
  it('parses arrays with NULLs, quoting, nesting and bounds', () => {
    expect(parseArray('{1,NULL,"a,b","NULL","q\\"x","\\\\"}', asText)).toEqual(['1', null, 'a,b', 'NULL', 'q"x', '\\']);
    expect(parseArray('{{1,2},{3,4}}', Number)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseArray('[0:1]={7,8}', Number)).toEqual([7, 8]);
    expect(parseArray('{}', asText)).toEqual([]);
    expect(parseArray('{(1,2);(3,4)}', asText, ';')).toEqual(['(1,2)', '(3,4)']);
    expect(() => parseArray('{"open', asText)).toThrow(/unterminated/);
  });

  it('keeps timestamps in to_json form and big numbers exact', () => {
    const tz = builtinTextDecoder(Oid.timestamptz);
    expect(tz('2026-05-03 02:40:00.123+00')).toBe('2026-05-03T02:40:00.123+00:00');
    expect(tz('0044-03-15 02:40:00+00 BC')).toBe('0044-03-15T02:40:00+00:00 BC');
    expect(tz('infinity')).toBe('infinity');
    expect(tz('-infinity')).toBe('-infinity');
    expect(tz('2026-05-03 02:40:00-03')).toBe('2026-05-03T02:40:00-03:00');
    expect(tz('2026-05-03 02:40:00.5+05:30')).toBe('2026-05-03T02:40:00.5+05:30');
    expect(tz('1850-05-03 02:40:00-00:01:15')).toBe('1850-05-03T02:40:00-00:01:15');
    expect(tz('0044-03-15 02:40:00.25-00:01:15 BC')).toBe('0044-03-15T02:40:00.25-00:01:15 BC');
    expect(tz('0044-03-15 02:40:00-05 BC')).toBe('0044-03-15T02:40:00-05:00 BC');
    // The hand-checked common shape: every fraction length, both signs.
    for (const f of ['', '.1', '.12', '.123', '.1234', '.12345', '.123456']) {
      expect(tz(`1999-12-31 23:59:59${f}+00`)).toBe(`1999-12-31T23:59:59${f}+00:00`);
      expect(tz(`1999-12-31 23:59:59${f}-11`)).toBe(`1999-12-31T23:59:59${f}-11:00`);
    }
    expect(builtinTextDecoder(Oid.int8)('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(Object.is(builtinTextDecoder(Oid.float8)('-0'), -0)).toBe(true);
    expect(builtinTextDecoder(Oid.jsonb)('{"a": 1}')).toEqual(new RawJson('{"a": 1}'));
    expect(() => builtinTextDecoder(Oid.bytea)('not hex')).toThrow(/hex/);
  });

  it('rejects values in a format the pinned session settings rule out, with a typed error and no value', () => {
    const bad: [number, string][] = [
      [Oid.timestamptz, '05/03/2026 08:10:00 IST'],
      [Oid.timestamptz, 'Thu Mar 05 08:10:00 2026 IST'],
      [Oid.timestamptz, '2026-05-03 02:40:00.+00'],
      [Oid.timestamptz, '2026-05-03T02:40:00+00'],
      [Oid.timestamptz, '2026-05-03 02:40:0a+00'],
      [Oid.timestamptz, '2026-05-03 02:40:00.1234567+00'],
      [Oid.timestamptz, '2026/05/03 02:40:00+00'],
      [Oid.timestamptz, '2026-05-03 02:40:00*00'],
      [Oid.timestamp, '05.03.2026 08:10:00'],
      [Oid.date, '05/03/2026'],
      [Oid.time, '8:10 PM'],
      [Oid.interval, 'P1DT2H'],
      [Oid.money, '1.234,50 €'],
      [Oid.bool, 'yes'],
    ];
    for (const [oid, text] of bad) {
      let err: unknown = null;
      try {
        builtinTextDecoder(oid)(text);
      } catch (e) {
        err = e;
      }
      expect(err, `${oid} ${text}`).toBeInstanceOf(DecodeError);
      expect((err as Error).message).not.toContain(text);
    }
  });

  it('keeps years past 9999 and BC like the binary decoders', () => {
    expect(builtinTextDecoder(Oid.timestamptz)('12345-06-07 08:09:10+00')).toBe('12345-06-07T08:09:10+00:00');
    expect(builtinTextDecoder(Oid.timestamp)('10000-01-01 00:00:00')).toBe('10000-01-01T00:00:00');
    expect(builtinTextDecoder(Oid.timestamp)('0001-01-01 00:00:00 BC')).toBe('0001-01-01T00:00:00 BC');
    expect(builtinTextDecoder(Oid.date)('10000-01-01')).toBe('10000-01-01');
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(Date.UTC(12345, 5, 7, 8, 9, 10) - 946_684_800_000) * 1000n);
    expect(
      (builtinBinaryDecoder(Oid.timestamptz) as NonNullable<ReturnType<typeof builtinBinaryDecoder>>)(b, 0, 8),
    ).toBe('12345-06-07T08:09:10+00:00');
  });

  it('decodes money without the locale: a plain decimal string', () => {
    expect(builtinTextDecoder(Oid.money)('$1,234.50')).toBe('1234.50');
    expect(builtinTextDecoder(Oid.money)('-$0.05')).toBe('-0.05');
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(-123450n);
    expect((builtinBinaryDecoder(Oid.money) as NonNullable<ReturnType<typeof builtinBinaryDecoder>>)(b, 0, 8)).toBe(
      '-1234.50',
    );
  });

  it('decodes "char" in binary mode as its text output does', () => {
    const ch = builtinBinaryDecoder(Oid.char) as NonNullable<ReturnType<typeof builtinBinaryDecoder>>;
    expect(ch(Buffer.from([0x61]), 0, 1)).toBe('a');
    expect(ch(Buffer.from([0x81]), 0, 1)).toBe('\\201');
    expect(ch(Buffer.from([0]), 0, 1)).toBe('');
  });
});

describe('binary decoders', () => {
  const bin = (oid: number, hex: string) => {
    const b = Buffer.from(hex, 'hex');
    return (builtinBinaryDecoder(oid) as NonNullable<ReturnType<typeof builtinBinaryDecoder>>)(b, 0, b.length);
  };
  it('prints numeric like Postgres', () => {
    // 1234.5678: ndigits 2, weight 0... (digits 1234, 5678), dscale 4
    expect(bin(Oid.numeric, '0002000000000004' + '04d2' + '162e')).toBe('1234.5678');
    expect(bin(Oid.numeric, '0001000040000002' + '0005')).toBe('-5.00');
    expect(bin(Oid.numeric, '000000000000' + '0000')).toBe('0');
    expect(bin(Oid.numeric, '00000000c0000000')).toBe('NaN');
    expect(bin(Oid.numeric, '00010001000000000001')).toBe('10000');
    expect(bin(Oid.numeric, '0001ffff00000003' + '0d84')).toBe('0.346'); // digit 3460, scale 3
  });
  it('decodes dates, times and timestamps', () => {
    expect(bin(Oid.date, '00000000')).toBe('2000-01-01');
    expect(bin(Oid.date, '7fffffff')).toBe('infinity');
    expect(bin(Oid.timestamptz, '0000000000000001')).toBe('2000-01-01T00:00:00.000001+00:00');
    expect(bin(Oid.timestamp, 'ffffffffffffffff')).toBe('1999-12-31T23:59:59.999999');
    expect(bin(Oid.uuid, 'a0eebc999c0b4ef8bb6d6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });
});

describe('type registry', () => {
  it('resolves domains to their base type, arrays of user types, and unknown types to text', () => {
    const r = new TypeRegistry();
    r.load([
      { oid: 20000, name: 'posint', typtype: 'd', typbasetype: Oid.int8, typelem: 0, typdelim: ',', typcategory: 'N' },
      { oid: 20001, name: 'mood', typtype: 'e', typbasetype: 0, typelem: 0, typdelim: ',', typcategory: 'E' },
      { oid: 20002, name: 'mood[]', typtype: 'b', typbasetype: 0, typelem: 20001, typdelim: ',', typcategory: 'A' },
    ]);
    expect(r.get(20000).text('42')).toBe(42n);
    expect(r.get(20002).text('{sad,happy}')).toEqual(['sad', 'happy']);
    expect(r.get(20002).name).toBe('mood[]');
    expect(r.get(99999)).toMatchObject({ name: 'oid:99999' });
    expect(r.get(99999).text('x')).toBe('x');
    expect(r.get(99999).binary).toBeUndefined();
  });
});
