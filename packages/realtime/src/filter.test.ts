import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, parseRowFilter } from './filter.js';

describe('row filters', () => {
  const row = { status: 'completed', amount: '150.00', n: 7, flag: true, gone: null, email: '[REDACTED]' };
  const t = (f: string, r: Record<string, unknown> | null = row) => parseRowFilter(f)(r);

  it('eq, neq, in, is', () => {
    expect(t('status=eq.completed')).toBe(true);
    expect(t('status=eq.pending')).toBe(false);
    expect(t('n=eq.7')).toBe(true);
    expect(t('status=neq.pending')).toBe(true);
    expect(t('missing=neq.x')).toBe(false);
    expect(t('status=in.(new,completed)')).toBe(true);
    expect(t('status=in.(new)')).toBe(false);
    expect(t('gone=is.null')).toBe(true);
    expect(t('flag=is.true')).toBe(true);
    expect(t('flag=is.false')).toBe(false);
    expect(t('status=eq.completed', null)).toBe(false);
  });

  it('orders numbers numerically and other text lexically', () => {
    expect(t('amount=gt.100')).toBe(true);
    expect(t('amount=gt.1000')).toBe(false); // text order would say "150.00" > "1000"
    expect(t('amount=lte.150')).toBe(true);
    expect(t('n=lt.10')).toBe(true);
    expect(t('status=gte.c')).toBe(true);
    expect(t('gone=lt.1')).toBe(false);
  });

  it('eq, neq and in: text exactly (the type is not known), numbers and int8 exactly as numbers', () => {
    // Text that looks like a number stays text: zip codes, phone numbers, versions.
    expect(parseRowFilter('zip=eq.01234')({ zip: '1234' })).toBe(false);
    expect(parseRowFilter('version=eq.1.1')({ version: '1.10' })).toBe(false);
    expect(parseRowFilter('version=in.(1.1,2.0)')({ version: '2' })).toBe(false);
    expect(parseRowFilter('code=eq.16')({ code: '0x10' })).toBe(false);
    expect(parseRowFilter('v=eq.150')({ v: ' 150 ' })).toBe(false);
    expect(parseRowFilter('v=neq.007')({ v: '7' })).toBe(true);
    expect(t('amount=eq.150.00')).toBe(true); // numeric arrives as Postgres prints it
    // JS numbers and bigints (int2/4/8, floats) compare as numbers, exactly.
    expect(t('n=eq.7.0')).toBe(true);
    expect(t('n=in.(07)')).toBe(true);
    expect(t('n=neq.7e0')).toBe(false);
    const big = { id: 9007199254740993n };
    expect(parseRowFilter('id=eq.9007199254740992')(big)).toBe(false); // Number() would make these equal
    expect(parseRowFilter('id=eq.9007199254740993')(big)).toBe(true);
    expect(parseRowFilter('id=eq.9.007199254740993e15')(big)).toBe(true);
    expect(parseRowFilter('id=eq.9.007199254740992e15')(big)).toBe(false);
  });

  it('lt, lte, gt, gte: decimals (exponents too) in exact numeric order, else text order', () => {
    const g = (f: string, v: unknown) => parseRowFilter(f)({ v });
    expect(g('v=gt.9007199254740992', '9007199254740993')).toBe(true);
    expect(g('v=lt.-9007199254740994', '9007199254740993')).toBe(false);
    expect(g('v=lt.1e2', '99.999999999999999999')).toBe(true);
    expect(g('v=gte.1e2', '99.999999999999999999')).toBe(false);
    expect(g('v=lt.-1.5', '-1.50001')).toBe(true);
    expect(g('v=gt.-1.5', '-1.49')).toBe(true);
    expect(g('v=lte.0', '-0.00')).toBe(true);
    expect(g('v=gte.0', '-0.00')).toBe(true);
    expect(g('v=lt.-5', '-Infinity')).toBe(true);
    expect(g('v=gt.1e300', 'Infinity')).toBe(true);
    expect(g('v=gt.1e300', Number.POSITIVE_INFINITY)).toBe(true);
    expect(g('v=gt.10', '0x10')).toBe(false); // not a decimal: text order ("0" < "1")
    expect(g('v=lt.2', 'NaN')).toBe(false); // text order: "N" > "2"
  });

  it('a value with dots and equals signs after the operator is taken whole', () => {
    expect(parseRowFilter('v=eq.a.b=c')({ v: 'a.b=c' })).toBe(true);
  });

  it('an own property only: no prototype lookups', () => {
    expect(parseRowFilter('constructor=neq.x')({})).toBe(false);
  });

  it('refuses bad filters with a FilterSyntaxError', () => {
    for (const bad of ['', 'status', 'status=completed', '=eq.x', 'status=like.x', 'status=in.a,b', 'x=is.maybe', 42]) {
      expect(() => parseRowFilter(bad), String(bad)).toThrow(FilterSyntaxError);
    }
  });
});
