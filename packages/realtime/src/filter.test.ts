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

  it('compares numbers as numbers in eq, neq and in too, exactly past 2^53', () => {
    expect(t('amount=eq.150')).toBe(true); // numeric(10,2) arrives as "150.00"
    expect(t('amount=eq.150.000')).toBe(true);
    expect(t('amount=neq.150')).toBe(false);
    expect(t('amount=in.(10,150)')).toBe(true);
    expect(t('n=eq.7.0')).toBe(true);
    expect(t('n=in.(07)')).toBe(true);
    const big = { id: 9007199254740993n, s: '9007199254740993' };
    expect(parseRowFilter('id=eq.9007199254740992')(big)).toBe(false); // Number() would make these equal
    expect(parseRowFilter('id=eq.9007199254740993')(big)).toBe(true);
    expect(parseRowFilter('s=gt.9007199254740992')(big)).toBe(true);
    expect(parseRowFilter('s=lt.-9007199254740994')(big)).toBe(false);
    expect(parseRowFilter('z=eq.0')({ z: '-0.00' })).toBe(true);
    expect(parseRowFilter('x=lt.-1.5')({ x: '-1.50001' })).toBe(true);
    expect(parseRowFilter('x=gt.-1.5')({ x: '-1.49' })).toBe(true);
    expect(t('status=eq.completed')).toBe(true);
    expect(parseRowFilter('v=eq.abc')({ v: 'ABC' })).toBe(false);
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
