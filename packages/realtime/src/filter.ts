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

/** A plain decimal (`-12.50`, `007`): compared digit by digit, exact at any size (int8 past 2^53, numeric). */
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?$/;

interface Decimal {
  neg: boolean;
  int: string;
  frac: string;
}

function decimal(text: string): Decimal | null {
  const m = DECIMAL.exec(text);
  if (m === null) return null;
  const int = (m[2] as string).replace(/^0+/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return { neg: m[1] === '-' && (int !== '' || frac !== ''), int, frac };
}

/** Sign of p - q. */
function decimalCompare(p: Decimal, q: Decimal): number {
  if (p.neg !== q.neg) return p.neg ? -1 : 1;
  let c = p.int.length - q.int.length;
  if (c === 0) c = p.int < q.int ? -1 : p.int > q.int ? 1 : 0;
  if (c === 0) c = p.frac < q.frac ? -1 : p.frac > q.frac ? 1 : 0; // trailing zeros gone: lexical is numeric
  return p.neg ? -c : c;
}

/**
 * Orders a value against one filter operand (parsed once): as numbers when both are numbers (decimals exactly,
 * `1e3` or a float through Number), else as text; null for a value that is not a scalar. numeric and int8 columns
 * arrive as strings, so `amount=eq.150` matches "150.00".
 */
function comparer(operand: string): (v: unknown) => number | null {
  const exact = decimal(operand);
  const b = Number(operand);
  const numeric = operand.trim() !== '' && Number.isFinite(b);
  return (v) => {
    const text = scalarText(v);
    if (text === null) return null;
    if (text === operand) return 0;
    if (exact !== null) {
      const d = decimal(text);
      if (d !== null) return decimalCompare(d, exact);
    }
    const a = Number(text);
    if (numeric && text.trim() !== '' && Number.isFinite(a)) return a - b;
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
      const cmp = comparer(operand);
      return (r) => cmp(get(r)) === 0;
    }
    case 'neq': {
      const cmp = comparer(operand);
      return (r) => {
        const c = cmp(get(r));
        return c !== null && c !== 0;
      };
    }
    case 'in': {
      if (!operand.startsWith('(') || !operand.endsWith(')')) throw new FilterSyntaxError('`in` takes `(a,b,c)`');
      const items = operand.slice(1, -1).split(',').map(comparer);
      return (r) => {
        const v = get(r);
        return items.some((cmp) => cmp(v) === 0);
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
      const cmp = comparer(operand);
      return (r) => {
        const c = cmp(get(r));
        return c !== null && test(c);
      };
    }
  }
}
