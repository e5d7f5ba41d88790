import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseOptions } from './options.js';
import { type Infer, type Schema, v } from './validate.js';

/** The ConfigError parseOptions throws for `input`, as `field: message`. */
function problem(schema: Schema<unknown>, input: unknown, prefix = 'x'): string {
  try {
    parseOptions(schema, input, prefix);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return `${(err as ConfigError).field}: ${(err as Error).message.replace(/^.*?: /, '')}`;
  }
  throw new Error('no problem found');
}
const accepts = (schema: Schema<unknown>, input: unknown) => schema.safeParse(input).ok;

describe('validator', () => {
  it('string: type, min, max, regex (default and custom message), url', () => {
    const s = v.string().min(2).max(3);
    expect(accepts(s, 'ab')).toBe(true);
    expect(accepts(s, 5)).toBe(false);
    expect(problem(s, 'a')).toBe('x: Too small: expected string to have >=2 characters');
    expect(problem(s, 'abcd')).toBe('x: Too big: expected string to have <=3 characters');
    expect(problem(v.string(), 5)).toBe('x: Invalid input: expected string, received number');
    expect(problem(v.string().regex(/^a/), 'b')).toBe('x: Invalid string: must match pattern /^a/');
    expect(problem(v.string().regex(/^a/, 'starts with a'), 'b')).toBe('x: starts with a');
    expect(accepts(v.string().url(), 'http://h/p')).toBe(true);
    expect(problem(v.string().url(), 'not a url')).toBe('x: Invalid URL');
  });

  it('number: finite only, int, positive, nonnegative, min, max', () => {
    expect(accepts(v.number(), 1.5)).toBe(true);
    expect(problem(v.number(), Number.NaN)).toBe('x: Invalid input: expected number, received NaN');
    expect(problem(v.number(), Number.POSITIVE_INFINITY)).toBe('x: Invalid input: expected number, received Infinity');
    expect(problem(v.number(), '1')).toBe('x: Invalid input: expected number, received string');
    expect(problem(v.number().int(), 1.5)).toBe('x: Invalid input: expected int, received number');
    expect(problem(v.number().positive(), 0)).toBe('x: Too small: expected number to be >0');
    expect(accepts(v.number().nonnegative(), 0)).toBe(true);
    expect(problem(v.number().nonnegative(), -1)).toBe('x: Too small: expected number to be >=0');
    expect(problem(v.number().min(1), 0.5)).toBe('x: Too small: expected number to be >=1');
    expect(problem(v.number().max(64), 65)).toBe('x: Too big: expected number to be <=64');
  });

  it('boolean, enum, literal, unknown', () => {
    expect(accepts(v.boolean(), false)).toBe(true);
    expect(problem(v.boolean(), 'yes')).toBe('x: Invalid input: expected boolean, received string');
    expect(accepts(v.enum(['a', 'b']), 'b')).toBe(true);
    expect(problem(v.enum(['a', 'b']), 'c')).toBe('x: Invalid option: expected one of "a"|"b"');
    expect(accepts(v.literal(false), false)).toBe(true);
    expect(problem(v.literal(2), 9)).toBe('x: Invalid input: expected 2');
    expect(accepts(v.unknown(), undefined)).toBe(true);
  });

  it('optional, nullable, default', () => {
    expect(v.string().optional().safeParse(undefined)).toEqual({ ok: true, value: undefined });
    expect(accepts(v.string().optional(), null)).toBe(false);
    expect(v.string().nullable().safeParse(null)).toEqual({ ok: true, value: null });
    expect(accepts(v.string().nullable(), undefined)).toBe(false);
    const d = v.array(v.string()).default(['a']);
    const first = d.safeParse(undefined);
    expect(first).toEqual({ ok: true, value: ['a'] });
    // A copy each time: a caller changing its result does not change the default.
    expect(d.safeParse(undefined)).not.toBe(first.ok && first.value);
    expect(d.safeParse(['b'])).toEqual({ ok: true, value: ['b'] });
    const o = v.object({ n: v.number().default(3), s: v.string().optional() });
    expect(o.safeParse({})).toEqual({ ok: true, value: { n: 3 } });
    expect('s' in (o.safeParse({}) as { value: object }).value).toBe(false);
  });

  it('object: a new object, unknown keys listed, nested errors named by their path', () => {
    const o = v.object({ a: v.string(), b: v.object({ c: v.array(v.object({ d: v.number().int() })) }).optional() });
    const input = { a: 'x', b: { c: [{ d: 1 }] } };
    const r = o.safeParse(input);
    expect(r).toEqual({ ok: true, value: input });
    expect(r.ok && r.value).not.toBe(input);
    expect(problem(o, { a: 'x', b: { c: [{ d: 1 }, { d: 1.5 }] } })).toBe(
      'x.b.c.1.d: Invalid input: expected int, received number',
    );
    expect(problem(o, { a: 'x', typo: 1, other: 2 })).toBe('x: unknown option(s) typo, other');
    expect(problem(o, { a: 'x', b: { c: [], e: 1 } })).toBe('x.b: unknown option(s) e');
    expect(problem(o, { a: 1, typo: 1 })).toBe('x.a: Invalid input: expected string, received number');
    expect(problem(o, {})).toBe('x.a: Invalid input: expected string, received undefined');
    expect(problem(o, [])).toBe('x: Invalid input: expected object, received array');
    expect(problem(o, null, '')).toBe('options: Invalid input: expected object, received null');
    expect(problem(o, { a: 'x', zz: 1 }, '')).toBe('options: unknown option(s) zz');
  });

  it('looseObject keeps unknown keys', () => {
    const o = v.looseObject({ name: v.string().min(1) });
    expect(o.safeParse({ name: 'n', extra: 1 })).toEqual({ ok: true, value: { name: 'n', extra: 1 } });
    expect(problem(o, { extra: 1 })).toBe('x.name: Invalid input: expected string, received undefined');
  });

  it('array (min, index in the path) and record (key in the path)', () => {
    expect(problem(v.array(v.string()).min(1), [])).toBe('x: Too small: expected array to have >=1 items');
    expect(problem(v.array(v.string()).min(1, 'at least one'), [])).toBe('x: at least one');
    expect(problem(v.array(v.string()), 'a')).toBe('x: Invalid input: expected array, received string');
    const r = v.record(v.array(v.string()));
    expect(r.safeParse({ t: ['a'] })).toEqual({ ok: true, value: { t: ['a'] } });
    expect(problem(r, { t: [1] })).toBe('x.t.0: Invalid input: expected string, received number');
    expect(problem(r, 'a')).toBe('x: Invalid input: expected object, received string');
  });

  it('union: first match; a single check failure wins over type mismatches; else says what was expected', () => {
    const u = v.union([v.string().min(1), v.array(v.string().min(1)).min(1)]);
    expect(u.safeParse(['a'])).toEqual({ ok: true, value: ['a'] });
    expect(problem(u, '')).toBe('x: Too small: expected string to have >=1 characters');
    expect(problem(u, 5)).toBe('x: Invalid input: expected string or array');
    expect(problem(v.union([v.literal(1), v.literal(2)]), 9)).toBe('x: Invalid input: expected 1 or 2');
    const sink = v.custom((s) => typeof s === 'object' && s !== null && 'write' in s, 'must be a Sink');
    expect(problem(v.array(v.union([sink, v.object({ sink })])), [{ writ: 1 }])).toBe('x.0: must be a Sink');
  });

  it('custom, instanceof, refine (with a path), superRefine', () => {
    const fn = () => 1;
    expect(v.custom((f) => typeof f === 'function').safeParse(fn)).toEqual({ ok: true, value: fn });
    expect(
      problem(
        v.custom(() => false),
        1,
      ),
    ).toBe('x: Invalid input');
    expect(
      problem(
        v.custom(() => false, 'must be a function'),
        1,
      ),
    ).toBe('x: must be a function');
    expect(accepts(v.instanceof(Uint8Array), new Uint8Array(1))).toBe(true);
    expect(problem(v.instanceof(Uint8Array), 'a')).toBe('x: Invalid input: expected Uint8Array, received string');
    const either = v
      .object({ a: v.string().optional(), b: v.string().optional() })
      .refine((o) => o.a !== undefined || o.b !== undefined, { message: 'give a or b', path: ['a'] });
    expect(accepts(either, { b: 'x' })).toBe(true);
    expect(problem(either, {})).toBe('x.a: give a or b');
    expect(
      problem(
        v.string().refine((s) => s.startsWith('h'), 'must be http'),
        'f',
      ),
    ).toBe('x: must be http');
    const even = v.number().superRefine((n, ctx) => {
      if (n % 2) ctx.addIssue({ message: 'must be even' });
      ctx.addIssue({ message: 'never reported first' });
    });
    expect(problem(even, 3)).toBe('x: must be even');
  });

  it('never puts the value in a message', () => {
    const secret = 'hunter2-SECRET';
    const schema = v.object({
      s: v.string().min(100).regex(/^a/).url().optional(),
      n: v.number().int().positive().max(1).optional(),
      e: v.enum(['a']).optional(),
      l: v.literal('a').optional(),
      u: v.union([v.number(), v.boolean()]).optional(),
      a: v.array(v.number()).optional(),
      r: v.record(v.number()).optional(),
      i: v.instanceof(Uint8Array).optional(),
      c: v.custom(() => false).optional(),
    });
    for (const key of ['s', 'n', 'e', 'l', 'u', 'a', 'r', 'i', 'c']) {
      for (const value of [secret, [secret], { k: secret }, 12345.678]) {
        const r = schema.safeParse({ [key]: value });
        if (!r.ok) {
          expect(r.issue.message).not.toContain('hunter2');
          expect(r.issue.message).not.toContain('12345');
        }
      }
    }
    expect(problem(schema, { [secret]: 1 })).toBe(`x: unknown option(s) ${secret}`); // keys are names, not values
  });

  it('infers the output type', () => {
    const o = v.object({
      a: v.string(),
      b: v.number().optional(),
      c: v.enum(['x', 'y']),
      d: v.union([v.literal(false), v.string()]).optional(),
      e: v.boolean().default(true),
    });
    expectTypeOf<Infer<typeof o>>().toEqualTypeOf<{
      a: string;
      c: 'x' | 'y';
      e: boolean;
      b?: number | undefined;
      d?: string | false | undefined;
    }>();
  });
});
