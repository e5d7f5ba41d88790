/**
 * PII masking applied to key, before and after. Column names match by words (`api_key` and `apiKey` match
 * `key`; `monkey` does not). Fail-closed mode masks every column not explicitly allowed, so a new column
 * added upstream is masked until someone decides otherwise.
 */
import { createHmac } from 'node:crypto';
import { encodeValueJson } from './codec-json.js';
import { ConfigError } from './errors.js';
import type { ChangeEvent, Row, Value } from './event.js';
import type { Sink } from './interfaces.js';
import { compileTableMatcher } from './table-match.js';
import { type Transform, transformSink } from './transform.js';

export type MaskStrategy = 'partial' | 'redact' | 'hash';

export const DEFAULT_MASK_COLUMNS = ['email', 'password', 'token', 'secret', 'key', 'phone', 'full_name'] as const;

export interface MaskOptions {
  /** Column names (matched by words) to mask. @default DEFAULT_MASK_COLUMNS */
  columns?: readonly string[];
  /** How to mask: `partial` (`u***@example.com`), `redact` (`[REDACTED]`), `hash` (keyed HMAC-SHA256). @default 'partial' */
  strategy?: MaskStrategy;
  /** Per-column strategy, by exact column name; wins over `strategy`. @default {} */
  strategies?: Readonly<Record<string, MaskStrategy>>;
  /** Key for the `hash` strategy; required when any column uses it. */
  hashKey?: string | Uint8Array;
  /** Fail-closed: mask every column not listed here (by exact name). @default undefined (off) */
  allow?: readonly string[];
  /** Apply only to these tables (`schema.table`, `*` wildcards). @default all tables */
  tables?: readonly string[];
}

export const REDACTED = '[REDACTED]';

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function containsRun(hay: string[], needle: string[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return needle.length === 0;
}

function partial(v: Value): Value {
  if (typeof v !== 'string') return REDACTED;
  const at = v.indexOf('@');
  if (at > 0) return `${v[0]}***${v.slice(at)}`;
  return v.length <= 1 ? '***' : `${v[0]}***`;
}

/** A Transform that masks PII columns. */
export function mask(options: MaskOptions = {}): Transform {
  const strategy = options.strategy ?? 'partial';
  const perColumn = options.strategies ?? {};
  const usesHash = strategy === 'hash' || Object.values(perColumn).includes('hash');
  if (usesHash && (options.hashKey === undefined || options.hashKey.length === 0)) {
    throw new ConfigError('mask.hashKey', 'required by the hash strategy');
  }
  const needles = (options.columns ?? DEFAULT_MASK_COLUMNS).map(words);
  const allow = options.allow ? new Set(options.allow) : null;
  const tables = options.tables ? compileTableMatcher(options.tables) : null;
  const verdicts = new Map<string, MaskStrategy | null>();

  const verdict = (column: string): MaskStrategy | null => {
    let v = verdicts.get(column);
    if (v !== undefined) return v;
    const masked = allow !== null ? !allow.has(column) : needles.some((n) => containsRun(words(column), n));
    v = masked ? (perColumn[column] ?? strategy) : null;
    verdicts.set(column, v);
    return v;
  };
  const apply = (s: MaskStrategy, v: Value): Value => {
    if (v === null) return null;
    if (s === 'redact') return REDACTED;
    if (s === 'partial') return partial(v);
    const text = typeof v === 'string' ? v : encodeValueJson(v);
    return createHmac('sha256', options.hashKey as string | Uint8Array)
      .update(text)
      .digest('hex');
  };
  const maskRow = (row: Row | null): Row | null => {
    if (row === null) return null;
    let out: Row | null = null;
    for (const col in row) {
      const s = verdict(col);
      if (s === null) continue;
      if (out === null) out = { ...row };
      out[col] = apply(s, row[col] as Value);
    }
    return out ?? row;
  };
  return (e: ChangeEvent) => {
    if (tables !== null && !tables(e.schema, e.table)) return e;
    const key = maskRow(e.key);
    const before = maskRow(e.before);
    const after = maskRow(e.after);
    if (key === e.key && before === e.before && after === e.after) return e;
    return { ...e, key, before, after };
  };
}

/** `sink`, seeing events with PII masked. */
export function maskSink(sink: Sink, options?: MaskOptions): Sink {
  return transformSink(sink, mask(options));
}
