import { RawJson } from '@walstream/core';
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
    expect(builtinTextDecoder(Oid.int8)('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(Object.is(builtinTextDecoder(Oid.float8)('-0'), -0)).toBe(true);
    expect(builtinTextDecoder(Oid.jsonb)('{"a": 1}')).toEqual(new RawJson('{"a": 1}'));
    expect(() => builtinTextDecoder(Oid.bytea)('not hex')).toThrow(/hex/);
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
