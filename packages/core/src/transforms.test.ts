import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { filter, filterSink } from './filter.js';
import { formatLsn, parseLsn } from './lsn.js';
import { compileRoute, rename } from './route.js';
import { batchOf } from './testing/contract.js';
import { createMemorySink, makeEvent } from './testing/index.js';

describe('filter', () => {
  it('keeps by table pattern, excludes, operations and predicate', () => {
    const t = filter({ tables: ['public.*'], excludeTables: ['*.audit_*'], operations: ['INSERT', 'UPDATE'] });
    expect(t(makeEvent({ table: 'orders' }))).not.toBeNull();
    expect(t(makeEvent({ table: 'audit_log' }))).toBeNull();
    expect(t(makeEvent({ schema: 'other' }))).toBeNull();
    expect(t(makeEvent({ operation: 'DELETE' }))).toBeNull();
    expect(filter({ predicate: (e) => e.table === 'a' })(makeEvent({ table: 'b' }))).toBeNull();
  });

  it('wraps a sink', async () => {
    const inner = createMemorySink();
    const s = filterSink(inner, { tables: ['keep'] });
    await s.write(batchOf(1, [makeEvent({ table: 'keep' }), makeEvent({ table: 'drop', index: 1 })]), {
      signal: new AbortController().signal,
    });
    expect(inner.events.map((x) => x.table)).toEqual(['keep']);
  });
});

describe('routes and rename', () => {
  it('fills templates and escapes each part', () => {
    const r = compileRoute('cdc.{table}.{operation}', (s) => s.replace(/[.*> ]/g, '_'));
    expect(r(makeEvent({ table: 'orders', operation: 'UPDATE' }))).toBe('cdc.orders.update');
    expect(r(makeEvent({ table: 'a.b *' }))).toBe('cdc.a_b__.insert');
    expect(compileRoute('{schema}.{table}.{OPERATION}')(makeEvent())).toBe('public.items.INSERT');
    expect(() => compileRoute('{nope}')).toThrow(ConfigError);
  });

  it('routes each event by its own fields when consecutive events differ in any of them', () => {
    const r = compileRoute('{database}.{schema}.{table}.{operation}');
    const events = [
      makeEvent({ table: 'a' }),
      makeEvent({ table: 'a' }),
      makeEvent({ table: 'a', operation: 'DELETE' }),
      makeEvent({ table: 'a', schema: 's2', operation: 'DELETE' }),
      { ...makeEvent({ table: 'a', schema: 's2', operation: 'DELETE' }), database: 'other' },
      makeEvent({ table: 'b' }),
      makeEvent({ table: 'a' }),
    ];
    expect(events.map(r)).toEqual([
      'test.public.a.insert',
      'test.public.a.insert',
      'test.public.a.delete',
      'test.s2.a.delete',
      'other.s2.a.delete',
      'test.public.b.insert',
      'test.public.a.insert',
    ]);
  });

  it('renames tables and schemas', () => {
    const t = rename({ tables: { 'public.items': 'sales.things', users: 'people' }, schemas: { public: 'app' } });
    expect(t(makeEvent())).toMatchObject({ schema: 'sales', table: 'things' });
    expect(t(makeEvent({ table: 'users' }))).toMatchObject({ schema: 'app', table: 'people' });
  });
});

describe('LSN text', () => {
  it('parses and formats like Postgres', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
    expect(() => parseLsn('16-B3')).toThrow(ConfigError);
  });
});
