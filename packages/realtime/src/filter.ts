/**
 * Row filters per subscription, PostgREST style: `status=eq.completed`, `amount=gt.100`, `status=in.(paid,sent)`,
 * `deleted_at=is.null`. A filter sees the record as the subscriber's role sees it (masked), so a filter on a masked
 * column cannot be used to probe the hidden value. DELETE events are matched on `old_record`.
 */

export type FilterOperator = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'in' | 'is';
const OPERATORS = new Set<string>(['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'is']);

export type RowPredicate = (record: Record<string, unknown> | null) => boolean;

/** Why a filter text was refused; the message names the part, never echoes a value. */
export class FilterSyntaxError extends Error {}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}

/**
 * A number written in decimal, with an optional exponent (`-12.50`, `1e3`, what String() gives for a double or
 * a bigint), or an infinity, held as digits: compared exactly at any size (int8 past 2^53, numeric). The exponent
 * has at most 4 digits, so the digits stay bounded.
 */
const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

type Num = { neg: boolean; inf: boolean; int: string; frac: string };

function parseNumber(text: string): Num | null {
  if (text === 'Infinity' || text === '+Infinity' || text === '-Infinity') {
    return { neg: text[0] === '-', inf: true, int: '', frac: '' };
  }
  const m = NUMBER.exec(text);
  if (m === null) return null;
  const whole = m[2] as string;
  const fraction = m[3] ?? '';
  if (whole === '' && fraction === '') return null;
  let digits = whole + fraction;
  let point = whole.length + Number(m[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const int = digits.slice(0, point).replace(/^0+/, '');
  const frac = digits.slice(point).replace(/0+$/, '');
  return { neg: m[1] === '-' && (int !== '' || frac !== ''), inf: false, int, frac };
}

/** Sign of p - q. */
function compareNumbers(p: Num, q: Num): number {
  if (p.neg !== q.neg) return p.neg ? -1 : 1;
  let c: number;
  if (p.inf || q.inf) c = p.inf === q.inf ? 0 : p.inf ? 1 : -1;
  else {
    c = p.int.length - q.int.length;
    if (c === 0) c = p.int < q.int ? -1 : p.int > q.int ? 1 : 0;
    if (c === 0) c = p.frac < q.frac ? -1 : p.frac > q.frac ? 1 : 0; // trailing zeros gone: lexical is numeric
  }
  return p.neg ? -c : c;
}

/** A JS number or bigint (int2/4/8, float columns) as a Num; null for NaN. */
function jsNumber(v: unknown): Num | null {
  return typeof v === 'number' || typeof v === 'bigint' ? parseNumber(String(v)) : null;
}

/**
 * Equality with one operand (parsed once). A record does not say a column's type, so a string is compared as text,
 * exactly: a zip code "01234" is not 1234, a version "1.10" is not 1.1 (numeric columns arrive as Postgres prints
 * them, `150.00`). Numbers and bigints compare as numbers: `n=eq.7.0` matches 7, int8 ids stay distinct.
 */
function equality(operand: string): (v: unknown) => boolean | null {
  const op = parseNumber(operand);
  return (v) => {
    const n = jsNumber(v);
    if (n !== null && op !== null) return compareNumbers(n, op) === 0;
    const text = scalarText(v);
    return text === null ? null : text === operand;
  };
}

/** Order against one operand: numeric (exact) when both are numbers, else text order; null for a non-scalar. */
function ordering(operand: string): (v: unknown) => number | null {
  const op = parseNumber(operand);
  return (v) => {
    const text = scalarText(v);
    if (text === null) return null;
    const n = op === null ? null : (jsNumber(v) ?? parseNumber(text));
    if (n !== null && op !== null) return compareNumbers(n, op);
    return text < operand ? -1 : text > operand ? 1 : 0;
  };
}

export function parseRowFilter(text: unknown): RowPredicate {
  if (typeof text !== 'string' || text.length === 0 || text.length > 1024) {
    throw new FilterSyntaxError('a filter is a string `column=operator.value`');
  }
  const eq = text.indexOf('=');
  const dot = text.indexOf('.', eq + 1);
  if (eq <= 0 || dot < 0) throw new FilterSyntaxError('a filter is `column=operator.value`');
  const column = text.slice(0, eq);
  const op = text.slice(eq + 1, dot);
  const operand = text.slice(dot + 1);
  if (!OPERATORS.has(op)) throw new FilterSyntaxError(`unknown filter operator (use ${[...OPERATORS].join(', ')})`);
  const get = (r: Record<string, unknown> | null) => (r !== null && Object.hasOwn(r, column) ? r[column] : undefined);
  switch (op as FilterOperator) {
    case 'eq': {
      const equal = equality(operand);
      return (r) => equal(get(r)) === true;
    }
    case 'neq': {
      const equal = equality(operand);
      return (r) => equal(get(r)) === false;
    }
    case 'in': {
      if (!operand.startsWith('(') || !operand.endsWith(')')) throw new FilterSyntaxError('`in` takes `(a,b,c)`');
      const items = operand.slice(1, -1).split(',').map(equality);
      return (r) => {
        const v = get(r);
        return items.some((equal) => equal(v) === true);
      };
    }
    case 'is': {
      if (operand === 'null') return (r) => get(r) === null;
      if (operand === 'true' || operand === 'false') return (r) => get(r) === (operand === 'true');
      throw new FilterSyntaxError('`is` takes null, true or false');
    }
    default: {
      const test =
        op === 'lt'
          ? (c: number) => c < 0
          : op === 'lte'
            ? (c: number) => c <= 0
            : op === 'gt'
              ? (c: number) => c > 0
              : (c: number) => c >= 0;
      const cmp = ordering(operand);
      return (r) => {
        const c = cmp(get(r));
        return c !== null && test(c);
      };
    }
  }
}
