import { RawJson } from '@walstream/core';
import type { TargetColumn } from '@walstream/sink-postgres/internal';
import { describe, expect, it } from 'vitest';
import { mysqlColumnType, toMysqlDatetime, toMysqlValue } from './types.js';

const col = (dataType: string, precision: number | null = null, scale: number | null = null): TargetColumn => ({
  name: 'c',
  dataType,
  precision,
  scale,
});
const site = { table: 'db.t', column: 'c' };
const strict = { unrepresentable: 'error' as const };
const lenient = { unrepresentable: 'null' as const };

describe('Postgres -> MySQL values', () => {
  it('never rounds a numeric into DECIMAL: it fits exactly or fails', () => {
    const d = col('decimal', 10, 2);
    expect(toMysqlValue(d, '12345678.90', site, strict)).toBe('12345678.90');
    expect(toMysqlValue(d, '-0.5000', site, strict)).toBe('-0.5000'); // trailing zeros are not rounding
    expect(() => toMysqlValue(d, '1.005', site, strict)).toThrow(/does not fit DECIMAL\(10,2\) without rounding/);
    expect(() => toMysqlValue(d, '123456789.1', site, strict)).toThrow(/without rounding/);
    // Leading zeros are no digits of the value; a sign is allowed; anything else is not a plain decimal.
    expect(toMysqlValue(d, '00012345678.10', site, strict)).toBe('00012345678.10');
    expect(toMysqlValue(d, '+0.01', site, strict)).toBe('+0.01');
    expect(() => toMysqlValue(d, '0.001', site, strict)).toThrow(/without rounding/);
    for (const bad of ['1e5', '1.2.3', '--1', '1,5', ' 1']) {
      expect(() => toMysqlValue(d, bad, site, strict)).toThrow(/not a plain decimal/);
    }
    const wide = col('decimal', 65, 30);
    expect(() => toMysqlValue(wide, `0.${'1'.repeat(31)}`, site, strict)).toThrow(/DECIMAL\(65,30\)/);
    expect(toMysqlValue(wide, `${'9'.repeat(35)}.${'9'.repeat(30)}`, site, strict)).toBe(
      `${'9'.repeat(35)}.${'9'.repeat(30)}`,
    );
  });

  it('NaN and infinities fail by default and become NULL with unrepresentable: null', () => {
    for (const [c, v] of [
      [col('double'), Number.NaN],
      [col('float'), Number.POSITIVE_INFINITY],
      [col('double'), Number.NEGATIVE_INFINITY],
      [col('decimal', 10, 2), 'NaN'],
      [col('decimal', 10, 2), 'Infinity'],
      [col('date'), 'infinity'],
      [col('datetime'), '-infinity'],
      [col('datetime'), '0044-03-15T12:00:00+00:00 BC'],
    ] as const) {
      expect(() => toMysqlValue(c, v, site, strict)).toThrowError(expect.objectContaining({ reason: 'VALUE' }));
      expect(toMysqlValue(c, v, site, lenient)).toBeNull();
    }
    // Inside an array (-> JSON) too.
    expect(() => toMysqlValue(col('json'), [1, Number.NaN], site, strict)).toThrow(/no MySQL representation/);
    expect(toMysqlValue(col('json'), [1, Number.NaN], site, lenient)).toBe('[1,null]');
  });

  it('error messages name the table and column, never the value', () => {
    try {
      toMysqlValue(col('decimal', 4, 2), '99999.123', site, strict);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('db.t.c');
      expect((err as Error).message).not.toContain('99999');
    }
  });

  it('converts timestamptz to DATETIME in UTC, keeping microseconds', () => {
    expect(toMysqlDatetime('2026-05-03T02:40:00.123456+05:30', site, strict)).toBe('2026-05-02 21:10:00.123456');
    expect(toMysqlDatetime('2026-01-01T00:00:00-03:30', site, strict)).toBe('2026-01-01 03:30:00');
    expect(toMysqlDatetime('2026-01-01T00:00:00+00:00:10', site, strict)).toBe('2025-12-31 23:59:50');
    expect(toMysqlDatetime('0050-06-01T00:00:00', site, strict)).toBe('0050-06-01 00:00:00');
    expect(toMysqlDatetime('9999-12-31T23:59:59.999999-01:00', site, lenient)).toBeNull(); // year 10000 in UTC
  });

  it('never rounds fractional seconds into a DATETIME or TIME of lower precision', () => {
    expect(toMysqlValue(col('datetime', null, 3), '2026-01-01T00:00:00.123+00:00', site, strict)).toBe(
      '2026-01-01 00:00:00.123',
    );
    expect(toMysqlValue(col('datetime', null, 0), '2026-01-01T00:00:00.000000', site, strict)).toBe(
      '2026-01-01 00:00:00.000000',
    );
    expect(() => toMysqlValue(col('datetime', null, 3), '2026-01-01T00:00:00.1234+00:00', site, strict)).toThrow(
      /beyond DATETIME\(3\) would be rounded/,
    );
    expect(() => toMysqlValue(col('time', null, 0), '12:00:00.5', site, strict)).toThrow(/TIME\(0\)/);
  });

  it('keeps integers, bytes, JSON and arrays exact', () => {
    expect(toMysqlValue(col('bigint'), -9223372036854775808n, site, strict)).toBe('-9223372036854775808');
    expect(toMysqlValue(col('longblob'), new Uint8Array([0, 255]), site, strict)).toEqual(Buffer.from([0, 255]));
    expect(toMysqlValue(col('json'), new RawJson('{"n": 12345678901234567890}'), site, strict)).toBe(
      '{"n": 12345678901234567890}',
    );
    expect(
      toMysqlValue(col('json'), [1n << 70n, '1.50', 'a"b', null, [true, new Uint8Array([1])], -0], site, strict),
    ).toBe('[1180591620717411303424,"1.50","a\\"b",null,[true,"AQ=="],-0]');
    expect(toMysqlValue(col('float'), 1.1, site, strict)).toBe(Math.fround(1.1));
    expect(toMysqlValue(col('tinyint'), true, site, strict)).toBe(1);
  });

  it('maps column types as the README table says', () => {
    const c = (type: string, typeModifier = -1) => ({ name: 'x', type, typeOid: 0, typeModifier, key: false });
    expect(mysqlColumnType(c('numeric', ((10 << 16) | 2) + 4), null)).toBe('DECIMAL(10,2)');
    expect(mysqlColumnType(c('numeric', ((70 << 16) | 2) + 4), null)).toBe('DECIMAL(65,30)');
    expect(mysqlColumnType(c('numeric'), null)).toBe('DECIMAL(65,30)');
    expect(mysqlColumnType(c('character varying', 24), null)).toBe('VARCHAR(20)');
    expect(mysqlColumnType(c('character varying', 1004), null)).toBe('LONGTEXT');
    expect(mysqlColumnType(c('text'), 768)).toBe('VARCHAR(768)');
    expect(mysqlColumnType(c('timestamp with time zone', 3), null)).toBe('DATETIME(3)');
    expect(mysqlColumnType(c('integer[]'), null)).toBe('JSON');
    expect(mysqlColumnType(c('public.mood'), null)).toBe('LONGTEXT');
  });
});
