/**
 * PII masking of key, before, after and MESSAGE content. Fail-closed: whatever cannot be masked precisely is
 * redacted whole (a value that is not an email under an email name, JSON that does not parse, a key column
 * without a hash key is an error, never a pass-through).
 *
 * - Names match by words, plural, case and separator insensitive (see mask-names.ts for the default list).
 * - `partial` keeps a hint only for email (`u***@example.com`) and phone values (`***67`); every other sensitive
 *   column is redacted.
 * - json/jsonb values are walked: keys inside objects and arrays are matched the same way.
 * - A masked key column (in key, before and after alike) becomes an HMAC-SHA256 of its value under `hashKey`,
 *   so distinct keys stay distinct and stable (Kafka keys, upserts) while the value does not leave.
 * - In allow-list mode (`allow`), every column not listed is masked and MESSAGE content is redacted.
 */
import { createHmac } from 'node:crypto';
import { encodeValueJson } from './codec-json.js';
import { ConfigError } from './errors.js';
import { type ChangeEvent, RawJson, type Row, type Value } from './event.js';
import type { Sink } from './interfaces.js';
import { maskJsonText } from './mask-json.js';
import { DEFAULT_MASK_COLUMNS, type NameClass, NameMatcher } from './mask-names.js';
import { compileTableMatcher } from './table-match.js';
import { type Transform, transformSink } from './transform.js';

export { DEFAULT_MASK_COLUMNS, EMAIL_NAMES, PHONE_NAMES } from './mask-names.js';

export type MaskStrategy = 'partial' | 'redact' | 'hash';

export interface MaskOptions {
  /** Sensitive column and JSON key names (matched by words, see DEFAULT_MASK_COLUMNS). @default DEFAULT_MASK_COLUMNS */
  columns?: readonly string[];
  /** Names added to `columns` (or to the default list). @default [] */
  extraColumns?: readonly string[];
  /**
   * How to mask: `partial` (email `u***@example.com`, phone `***67`, anything else redacted), `redact`
   * (`[REDACTED]`), `hash` (HMAC-SHA256 under `hashKey`). @default 'partial'
   */
  strategy?: MaskStrategy;
  /** Per-column strategy, by exact column name; wins over `strategy`. @default {} */
  strategies?: Readonly<Record<string, MaskStrategy>>;
  /**
   * Secret for the `hash` strategy and for masked key columns (always hashed, so keys stay distinct). Required
   * when either is used; a masked key column without it fails the event with a ConfigError. @default none
   */
  hashKey?: string | Uint8Array;
  /** Fail-closed allow list: mask every column not listed here (exact names) and redact MESSAGE content. @default undefined (off) */
  allow?: readonly string[];
  /** Apply only to these tables (`schema.table`, `*` wildcards). @default all tables */
  tables?: readonly string[];
}

export const REDACTED = '[REDACTED]';
const REDACTED_BYTES = new TextEncoder().encode(REDACTED);
const EMAIL = /^[^@\s]+@[^@\s]+$/;

function partialOf(cls: NameClass, v: string): string {
  if (cls === 'email' && EMAIL.test(v)) return `${v[0]}***${v.slice(v.indexOf('@'))}`;
  if (cls === 'phone' && /^[\d\s+().-]+$/.test(v)) {
    const digits = v.replace(/\D/g, '');
    if (digits.length >= 7) return `***${digits.slice(-2)}`;
  }
  return REDACTED;
}

/** A Transform that masks PII. */
export function mask(options: MaskOptions = {}): Transform {
  const strategy = options.strategy ?? 'partial';
  const perColumn = options.strategies ?? {};
  const hashKey = options.hashKey !== undefined && options.hashKey.length > 0 ? options.hashKey : undefined;
  const usesHash = strategy === 'hash' || Object.values(perColumn).includes('hash');
  if (usesHash && hashKey === undefined) throw new ConfigError('mask.hashKey', 'required by the hash strategy');
  const names = new NameMatcher([...(options.columns ?? DEFAULT_MASK_COLUMNS), ...(options.extraColumns ?? [])]);
  const allow = options.allow ? new Set(options.allow) : null;
  const tables = options.tables ? compileTableMatcher(options.tables) : null;

  const hmac = (text: string) => {
    if (hashKey === undefined) {
      throw new ConfigError('mask.hashKey', 'required: a key column is masked, and keys are masked by keyed hash');
    }
    return createHmac('sha256', hashKey).update(text).digest('hex');
  };
  const textOf = (v: Value) => (typeof v === 'string' ? v : encodeValueJson(v));

  /** Masks one value of a sensitive column or JSON key. */
  const maskValue = (s: MaskStrategy, cls: NameClass, v: Value): Value => {
    if (v === null) return null;
    if (s === 'hash') return hmac(textOf(v));
    if (s === 'redact') return REDACTED;
    if (typeof v === 'string') return partialOf(cls, v);
    if (Array.isArray(v)) return (v as readonly Value[]).map((x) => maskValue(s, cls, x));
    return REDACTED;
  };
  /** Walks a json value not itself sensitive; masks by key inside. Unparseable JSON is redacted whole. */
  const maskJson = (column: string, v: RawJson): Value => {
    try {
      const text = maskJsonText(
        v.text,
        (key) => names.classify(key) !== null,
        (key, node) => {
          const cls = names.classify(key) as NameClass;
          const s = perColumn[column] ?? strategy;
          if (s === 'hash') return JSON.stringify(hmac(node.string ?? node.raw));
          if (s === 'partial' && node.string !== undefined) return JSON.stringify(partialOf(cls, node.string));
          return JSON.stringify(REDACTED);
        },
      );
      return text === null ? v : new RawJson(text);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      return REDACTED;
    }
  };
  const walk = (column: string, v: Value): Value => {
    if (v instanceof RawJson) return maskJson(column, v);
    if (Array.isArray(v) && v.some((x) => x instanceof RawJson || Array.isArray(x))) {
      return (v as readonly Value[]).map((x) => walk(column, x));
    }
    return v;
  };

  const maskRow = (row: Row | null, keyColumns: ReadonlySet<string>): Row | null => {
    if (row === null) return null;
    let out: Row | null = null;
    for (const col in row) {
      const v = row[col] as Value;
      const cls = allow !== null ? (allow.has(col) ? null : (names.classify(col) ?? 'other')) : names.classify(col);
      let m: Value;
      if (cls === null) m = walk(col, v);
      else if (keyColumns.has(col)) m = v === null ? null : hmac(textOf(v));
      else m = maskValue(perColumn[col] ?? strategy, cls, v);
      if (m === v) continue;
      if (out === null) out = { ...row };
      out[col] = m;
    }
    return out ?? row;
  };

  return (e: ChangeEvent) => {
    if (tables !== null && !tables(e.schema, e.table)) return e;
    const keyColumns = new Set(e.key === null ? [] : Object.keys(e.key));
    const key = maskRow(e.key, keyColumns);
    const before = maskRow(e.before, keyColumns);
    const after = maskRow(e.after, keyColumns);
    const message =
      allow !== null && e.message !== undefined ? { ...e.message, content: REDACTED_BYTES.slice() } : e.message;
    if (key === e.key && before === e.before && after === e.after && message === e.message) return e;
    return { ...e, key, before, after, ...(message === undefined ? {} : { message }) };
  };
}

/** `sink`, seeing events with PII masked. */
export function maskSink(sink: Sink, options?: MaskOptions): Sink {
  return transformSink(sink, mask(options));
}
