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

function compare(v: unknown, operand: string): number | null {
  const text = scalarText(v);
  if (text === null) return null;
  const a = Number(text);
  const b = Number(operand);
  if (text.trim() !== '' && operand.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return a - b;
  return text < operand ? -1 : text > operand ? 1 : 0;
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
    case 'eq':
      return (r) => scalarText(get(r)) === operand;
    case 'neq': {
      return (r) => {
        const t = scalarText(get(r));
        return t !== null && t !== operand;
      };
    }
    case 'in': {
      if (!operand.startsWith('(') || !operand.endsWith(')')) throw new FilterSyntaxError('`in` takes `(a,b,c)`');
      const set = new Set(operand.slice(1, -1).split(','));
      return (r) => {
        const t = scalarText(get(r));
        return t !== null && set.has(t);
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
      return (r) => {
        const c = compare(get(r), operand);
        return c !== null && test(c);
      };
    }
  }
}
