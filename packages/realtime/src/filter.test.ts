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
