/**
 * Chunked comparison of one table on two databases, by key. Pass 1 walks the source in key order, a chunk at a
 * time, and fetches the same keys from the target: keys absent there are `missing`, rows whose hash differs are
 * `different`. Pass 2 walks the target's keys in its own key order and asks the source for them: keys the source
 * lacks are `extra`. Rows are normalized per source type and hashed (SHA-1) on the client, so no value ever
 * appears in the result, only keys. Each side's key order is its own (collations differ), hence two passes.
 */
import { createHash } from 'node:crypto';

/** A row read for comparison: its key as normalized text and a hash of its normalized values. */
export interface ComparedRow {
  /** Normalized key column values; the result reports these. */
  readonly key: readonly string[];
  readonly hash: string;
}

export interface CompareSide {
  /** Rows (or only keys, `withHash` false) in this side's key order after `after` (exclusive). */
  page(after: readonly string[] | null, limit: number, withHash: boolean): Promise<ComparedRow[]>;
  /** The rows of these keys (normalized key text in, same normalization out). */
  byKeys(keys: readonly (readonly string[])[], withHash: boolean): Promise<ComparedRow[]>;
}

export interface CompareResult {
  missing: string[][];
  extra: string[][];
  different: string[][];
}

export function rowHash(values: readonly (string | null)[]): string {
  const h = createHash('sha1');
  for (const v of values) h.update(v === null ? '\u0000N' : `\u0001${v.length}:${v}`);
  return h.digest('hex');
}

const k = (key: readonly string[]) => JSON.stringify(key);

export async function compareTable(source: CompareSide, target: CompareSide, chunk: number): Promise<CompareResult> {
  const out: CompareResult = { missing: [], extra: [], different: [] };
  let after: readonly string[] | null = null;
  for (;;) {
    const rows = await source.page(after, chunk, true);
    if (rows.length === 0) break;
    const there = new Map(
      (
        await target.byKeys(
          rows.map((r) => r.key),
          true,
        )
      ).map((r) => [k(r.key), r.hash]),
    );
    for (const r of rows) {
      const h = there.get(k(r.key));
      if (h === undefined) out.missing.push([...r.key]);
      else if (h !== r.hash) out.different.push([...r.key]);
    }
    after = (rows[rows.length - 1] as ComparedRow).key;
    if (rows.length < chunk) break;
  }
  after = null;
  for (;;) {
    const keys = await target.page(after, chunk, false);
    if (keys.length === 0) break;
    const here = new Set(
      (
        await source.byKeys(
          keys.map((r) => r.key),
          false,
        )
      ).map((r) => k(r.key)),
    );
    for (const r of keys) if (!here.has(k(r.key))) out.extra.push([...r.key]);
    after = (keys[keys.length - 1] as ComparedRow).key;
    if (keys.length < chunk) break;
  }
  return out;
}
