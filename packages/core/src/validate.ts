/**
 * A small option validator with a zod-like API, covering only what the walstream packages need to check their
 * option objects. It replaces zod in the library packages: loading zod cost every process about 10 MB of peak RSS
 * and ~100 ms of start-up.
 *
 * ```ts
 * const schema = v.object({ path: v.string().min(1), rotateBytes: v.number().int().positive().optional() });
 * type Options = Infer<typeof schema>;
 * const o = parseOptions(schema, input, 'file'); // ConfigError('file.rotateBytes', ...) on a bad value
 * ```
 *
 * Validation stops at the first problem (parseOptions only reports the first one). Messages say what was expected
 * and never include the value itself: option values may be secrets (passwords, tokens, URLs with credentials).
 */

export type Path = (string | number)[];

/** A problem found while validating. `fatal`: the value has the wrong type (a union then prefers other options). */
export interface Issue {
  path: Path;
  message: string;
  fatal: boolean;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issue: Issue };

/** The type a schema produces, like zod's `z.infer`. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Run<T> = (input: unknown) => Result<T>;
/** Method syntax makes the parameter bivariant, so a Schema<string> is also a Schema<unknown> (for shapes, unions). */
type Check<T> = { check(value: T): Issue | null }['check'];

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = (message: string, fatal: boolean, path: Path = []): Result<never> => ({
  ok: false,
  issue: { path, message, fatal },
});
/** Prefixes a nested value's issue with its key or index, so the error names e.g. `sinks.0.name`. */
const under = (key: string | number, r: Result<unknown> & { ok: false }): Result<never> => ({
  ok: false,
  issue: { ...r.issue, path: [key, ...r.issue.path] },
});

/** The received type, named like zod does (never the value itself). */
function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'number' && !Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : 'Infinity';
  return typeof x;
}
const invalidType = (expected: string, x: unknown) =>
  fail(`Invalid input: expected ${expected}, received ${typeName(x)}`, true);

/**
 * A schema: a type test (`run`, whose failures are fatal) followed by checks (min, regex, refine, ...: not fatal).
 * Schemas are immutable; every method returns a new one.
 */
export class Schema<T> {
  /** Type-only: carries T for Infer. */
  declare readonly _output: T;

  constructor(
    protected readonly run: Run<T>,
    /** What the schema accepts, for a union's message (`expected string or array`). */
    readonly expected: string,
    protected readonly checks: readonly Check<T>[] = [],
  ) {}

  safeParse(input: unknown): Result<T> {
    const r = this.run(input);
    if (!r.ok) return r;
    for (const check of this.checks) {
      const issue = check(r.value);
      if (issue) return { ok: false, issue };
    }
    return r;
  }

  /** A copy with one more check, keeping the subclass (so `.min(1).regex(...)` chains). */
  protected with(check: Check<T>): this {
    const Self = this.constructor as new (run: Run<T>, expected: string, checks: readonly Check<T>[]) => this;
    return new Self(this.run, this.expected, [...this.checks, check]);
  }

  /** Adds a check; `path` (relative to this value) names the field the message is about. */
  refine(predicate: (value: T) => boolean, message: string | { message: string; path?: Path }): this {
    const m = typeof message === 'string' ? { message } : message;
    return this.with((x) => (predicate(x) ? null : { path: m.path ?? [], message: m.message, fatal: false }));
  }

  /** Adds a check that reports its own problem through `ctx.addIssue` (the first one counts). */
  superRefine(fn: (value: T, ctx: { addIssue(issue: { message: string; path?: Path }): void }) => void): this {
    return this.with((x) => {
      let found: Issue | null = null;
      fn(x, {
        addIssue: (i) => {
          found ??= { path: i.path ?? [], message: i.message, fatal: false };
        },
      });
      return found;
    });
  }

  optional(): Schema<T | undefined> {
    return new Schema<T | undefined>(
      (x) => (x === undefined ? ok(undefined) : this.safeParse(x)),
      `${this.expected} or undefined`,
    );
  }

  nullable(): Schema<T | null> {
    return new Schema<T | null>((x) => (x === null ? ok(null) : this.safeParse(x)), `${this.expected} or null`);
  }

  /** `undefined` becomes `value` (a shallow copy of it for arrays and objects, so callers cannot share it). */
  default(value: Exclude<T, undefined>): Schema<Exclude<T, undefined>> {
    const copy = () => (Array.isArray(value) ? [...value] : isPlainObject(value) ? { ...value } : value) as T;
    return new Schema(
      (x) => this.safeParse(x === undefined ? copy() : x) as Result<Exclude<T, undefined>>,
      this.expected,
    );
  }
}

export class StringSchema extends Schema<string> {
  min(n: number, message = `Too small: expected string to have >=${n} characters`): this {
    return this.refine((s) => s.length >= n, message);
  }
  max(n: number, message = `Too big: expected string to have <=${n} characters`): this {
    return this.refine((s) => s.length <= n, message);
  }
  regex(re: RegExp, message = `Invalid string: must match pattern ${re}`): this {
    return this.refine((s) => re.test(s), message);
  }
  /** Anything the WHATWG URL parser accepts (as zod's `url()`); restrict the scheme with `regex` or `refine`. */
  url(message = 'Invalid URL'): this {
    return this.refine((s) => URL.canParse(s), message);
  }
}

export class NumberSchema extends Schema<number> {
  int(): this {
    return this.refine(Number.isInteger, 'Invalid input: expected int, received number');
  }
  min(n: number, message = `Too small: expected number to be >=${n}`): this {
    return this.refine((x) => x >= n, message);
  }
  max(n: number, message = `Too big: expected number to be <=${n}`): this {
    return this.refine((x) => x <= n, message);
  }
  positive(message = 'Too small: expected number to be >0'): this {
    return this.refine((x) => x > 0, message);
  }
  nonnegative(message = 'Too small: expected number to be >=0'): this {
    return this.min(0, message);
  }
}

export class ArraySchema<T> extends Schema<T[]> {
  min(n: number, message = `Too small: expected array to have >=${n} items`): this {
    return this.refine((a) => a.length >= n, message);
  }
}

type Shape = Record<string, Schema<unknown>>;
/** Keys whose schema accepts undefined are optional, as in zod. */
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flat<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * An object with the given keys. Unknown keys are an error (`unknown option(s) a, b`: a misspelt option must not
 * be silently ignored). Produces a new object; keys that are absent and have no default stay absent.
 */
function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return new Schema(objectRun(shape, false), 'object');
}

/** As `object`, but unknown keys are kept (zod 4's `looseObject`, formerly `.passthrough()`). */
function looseObject<S extends Shape>(shape: S): Schema<ObjectOf<S> & Record<string, unknown>> {
  return new Schema(objectRun(shape, true), 'object');
}

function objectRun<S extends Shape>(shape: S, loose: boolean): Run<ObjectOf<S> & Record<string, unknown>> {
  return (x) => {
    if (!isPlainObject(x)) return invalidType('object', x);
    const unknown = loose ? [] : Object.keys(x).filter((k) => !Object.hasOwn(shape, k));
    const out: Record<string, unknown> = loose ? { ...x } : {};
    for (const key of Object.keys(shape)) {
      const r = (shape[key] as Schema<unknown>).safeParse(x[key]);
      if (r.ok) {
        if (r.value !== undefined || key in x) out[key] = r.value;
        continue;
      }
      // A known key's problem is reported first (as zod did), but with unknown keys too this is likely the wrong
      // object altogether: fatal, so a union reports another option's problem.
      const issue = under(key, r);
      if (unknown.length > 0 && !issue.ok) issue.issue.fatal = true;
      return issue;
    }
    if (unknown.length > 0) return fail(`unknown option(s) ${unknown.join(', ')}`, true);
    return ok(out as ObjectOf<S> & Record<string, unknown>);
  };
}

function array<T>(item: Schema<T>): ArraySchema<T> {
  return new ArraySchema((x) => {
    if (!Array.isArray(x)) return invalidType('array', x);
    const out: T[] = [];
    for (let i = 0; i < x.length; i++) {
      const r = item.safeParse(x[i]);
      if (!r.ok) return under(i, r);
      out.push(r.value);
    }
    return ok(out);
  }, 'array');
}

/** An object used as a map with string keys (zod's `record(z.string(), value)`). */
function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return new Schema((x) => {
    if (!isPlainObject(x)) return invalidType('object', x);
    const out: Record<string, T> = {};
    for (const [k, item] of Object.entries(x)) {
      const r = value.safeParse(item);
      if (!r.ok) return under(k, r);
      out[k] = r.value;
    }
    return ok(out);
  }, 'object');
}

/**
 * The first option that accepts the value wins. When none does and exactly one failed on a check rather than on the
 * type (`''` for `string().min(1) | array`), its problem is the more useful one (zod's rule too).
 */
function union<const O extends readonly Schema<unknown>[]>(options: O): Schema<Infer<O[number]>> {
  const expected = options.map((o) => o.expected).join(' or ');
  return new Schema((x) => {
    const failed: Issue[] = [];
    for (const o of options) {
      const r = o.safeParse(x);
      if (r.ok) return r as Result<Infer<O[number]>>;
      failed.push(r.issue);
    }
    const near = failed.filter((i) => !i.fatal);
    if (near.length === 1) return { ok: false, issue: near[0] as Issue };
    return fail(`Invalid input: expected ${expected}`, true);
  }, expected);
}

function enumOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  const expected = `one of ${values.map((s) => JSON.stringify(s)).join('|')}`;
  return new Schema(
    (x) => (values.includes(x as string) ? ok(x as V[number]) : fail(`Invalid option: expected ${expected}`, true)),
    expected,
  );
}

function literal<const L extends string | number | boolean>(value: L): Schema<L> {
  const expected = JSON.stringify(value);
  return new Schema((x) => (x === value ? ok(value) : fail(`Invalid input: expected ${expected}`, true)), expected);
}

/**
 * A value `predicate` accepts, passed through as is (sinks, loggers, functions). Not fatal, so in a union a failed
 * custom check reports its own message (`must be a Sink: ...`).
 */
function custom<T>(predicate: (x: unknown) => boolean, message = 'Invalid input'): Schema<T> {
  return new Schema((x) => (predicate(x) ? ok(x as T) : fail(message, false)), message);
}

function instanceOf<C extends abstract new (...args: never[]) => unknown>(cls: C): Schema<InstanceType<C>> {
  return new Schema((x) => (x instanceof cls ? ok(x as InstanceType<C>) : invalidType(cls.name, x)), cls.name);
}

/** The builders, used as `v.object({...})`, `v.string().min(1)`, ... */
export const v = {
  object,
  looseObject,
  array,
  record,
  union,
  enum: enumOf,
  literal,
  custom,
  instanceof: instanceOf,
  string: () => new StringSchema((x) => (typeof x === 'string' ? ok(x) : invalidType('string', x)), 'string'),
  /** Finite numbers only: NaN and Infinity are rejected (as zod 4 does). */
  number: () =>
    new NumberSchema((x) => (typeof x === 'number' && Number.isFinite(x) ? ok(x) : invalidType('number', x)), 'number'),
  boolean: () => new Schema((x) => (typeof x === 'boolean' ? ok(x) : invalidType('boolean', x)), 'boolean'),
  unknown: () => new Schema<unknown>(ok, 'any value'),
};
