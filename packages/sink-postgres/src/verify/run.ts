/**
 * The verifyTables loop both SQL sinks share: the Postgres source side, each table described on both sides, the
 * columns they have in common compared by key, keys only in the result. What differs per target (how it is
 * reached, where a table's copy lives, how its rows are read) comes in a VerifyTarget.
 */
import { ConfigError } from '@walstream/core';
import pg from 'pg';
import { ApplyError, ApplyErrorReason } from '../apply/errors.js';
import { type CompareSide, compareTable } from './compare.js';
import {
  type DescribedColumn,
  type DescribedTable,
  describePgTable,
  parsePgTableName,
  pgSide,
  prepareVerifySession,
  type TableName,
} from './pg-side.js';

export interface VerifyTableResult {
  /** The source table, `schema.table`. */
  table: string;
  /** Keys (normalized key column values, in key order) in the source but not in the target. */
  missing: string[][];
  /** Keys in the target but not in the source. */
  extra: string[][];
  /** Keys in both whose rows differ (compared over the columns both tables have). */
  different: string[][];
}

export interface VerifyResult {
  equal: boolean;
  tables: VerifyTableResult[];
}

/** One table's copy in the target, as far as the comparison needs it. */
export interface TargetCopy {
  readonly columns: ReadonlySet<string>;
  /** Reads the copy's rows: `key` and `compare` are the source's columns, in that order. */
  side(source: DescribedTable, key: readonly DescribedColumn[], compare: readonly DescribedColumn[]): CompareSide;
}

export interface VerifyTarget {
  /** Where the copy of `source` lives, `target` being what the caller named (if anything). */
  locate(source: TableName, target: string | TableName | undefined): TableName;
  /** The copy, or null when no such table exists. */
  describe(name: TableName): Promise<TargetCopy | null>;
  close(): Promise<void>;
}

/** A table to compare; each sink adds `target` (where the copy lives), documented in its own terms. */
export interface VerifyTableSpecBase {
  /** `schema.table`, `table` (schema public) or `{ schema, table }`. */
  source: string | TableName;
  target?: string | TableName;
}

/** verifyTables' options; each sink documents `target` (its connection string) in its own terms. */
export interface VerifyOptionsBase<Spec extends VerifyTableSpecBase> {
  /** Postgres connection string of the source. */
  source: string;
  target: string;
  /** Tables to compare. */
  tables: readonly (string | Spec)[];
  /** Rows per chunk. @default 1000 */
  chunkSize?: number;
}

function isTableName(t: unknown): t is string | TableName {
  if (typeof t === 'string') return t !== '';
  const n = t as TableName | null | undefined;
  return typeof n?.schema === 'string' && typeof n.table === 'string';
}

/** Compares each source table with its copy in the target that `openTarget` reaches. */
export async function verifyAgainst(
  options: VerifyOptionsBase<VerifyTableSpecBase>,
  openTarget: () => Promise<VerifyTarget>,
): Promise<VerifyResult> {
  const chunk = options.chunkSize ?? 1000;
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new ConfigError('chunkSize', 'must be a positive integer');
  // Every entry is checked before anything is reached: a mistyped list must not show up as a connection error.
  if (!Array.isArray(options.tables)) throw new ConfigError('tables', 'must be a list of tables');
  const specs = options.tables.map((spec) => {
    const s = typeof spec === 'string' ? { source: spec } : spec;
    if (!isTableName(s?.source))
      throw new ConfigError('tables', 'each entry must be a table name or { source, target? }');
    return { source: parsePgTableName(s.source, 'public'), target: s.target };
  });
  const src = new pg.Client({ connectionString: options.source });
  await src.connect();
  let dst: VerifyTarget | null = null;
  try {
    await prepareVerifySession(src);
    dst = await openTarget();
    const out: VerifyTableResult[] = [];
    for (const { source: sn, target } of specs) {
      const tn = dst.locate(sn, target);
      const label = `${sn.schema}.${sn.table}`;
      const st = await describePgTable(src, sn);
      if (st === null) throw new ApplyError(ApplyErrorReason.Target, `source table ${label} does not exist`);
      const tt = await dst.describe(tn);
      if (tt === null)
        throw new ApplyError(ApplyErrorReason.Target, `target table ${tn.schema}.${tn.table} does not exist`);
      const key = st.key.map((k) => st.columns.find((c) => c.name === k) as DescribedColumn);
      const compare = st.columns.filter((c) => !st.key.includes(c.name) && tt.columns.has(c.name));
      const r = await compareTable(pgSide(src, st, compare, key), tt.side(st, key, compare), chunk);
      out.push({ table: label, ...r });
    }
    return { equal: out.every((t) => t.missing.length + t.extra.length + t.different.length === 0), tables: out };
  } finally {
    await src.end().catch(() => {});
    await dst?.close().catch(() => {});
  }
}
