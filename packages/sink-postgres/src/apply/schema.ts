/** Source column types: which changes only widen (safe to apply to the target) and typmod decoding. */
import type { ColumnSchema } from '@walstream/core';

/** numeric(p,s) from atttypmod; null when unconstrained. */
export function numericTypmod(typmod: number): { precision: number; scale: number } | null {
  if (typmod < 4) return null;
  const v = typmod - 4;
  return { precision: (v >> 16) & 0xffff, scale: v & 0xffff };
}

/** varchar(n)/char(n) length from atttypmod; null when unconstrained. */
export function lengthTypmod(typmod: number): number | null {
  return typmod < 4 ? null : typmod - 4;
}

const INT_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
const TEXTUAL = new Set(['character varying', 'text', 'character']);

/** True when every value of type `a` fits type `b` unchanged. */
export function isWidening(a: ColumnSchema, b: ColumnSchema): boolean {
  if (a.type === b.type && a.typeModifier === b.typeModifier) return true;
  const ra = INT_RANK[a.type];
  const rb = INT_RANK[b.type];
  if (ra !== undefined && rb !== undefined) return rb >= ra;
  if (ra !== undefined && b.type === 'numeric') {
    const n = numericTypmod(b.typeModifier);
    return n === null || n.precision - n.scale >= [0, 5, 10, 19][ra]!;
  }
  if (a.type === 'real' && b.type === 'double precision') return true;
  if (a.type === 'numeric' && b.type === 'numeric') {
    const na = numericTypmod(a.typeModifier);
    const nb = numericTypmod(b.typeModifier);
    if (nb === null) return true;
    if (na === null) return false;
    return nb.scale >= na.scale && nb.precision - nb.scale >= na.precision - na.scale;
  }
  if (TEXTUAL.has(a.type) && b.type === 'text') return true;
  if (a.type === 'character varying' && b.type === 'character varying') {
    const la = lengthTypmod(a.typeModifier);
    const lb = lengthTypmod(b.typeModifier);
    return lb === null || (la !== null && lb >= la);
  }
  if (a.type === b.type && /^(timestamp|time|interval)/.test(a.type)) {
    return b.typeModifier < 0 || (a.typeModifier >= 0 && b.typeModifier >= a.typeModifier);
  }
  return false;
}
