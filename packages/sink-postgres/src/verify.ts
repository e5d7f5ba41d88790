/** verifyTables for Postgres -> Postgres: chunked, by key, reporting keys only. */
import { ConfigError } from '@walstream/core';
import pg from 'pg';
import { ApplyError, ApplyErrorReason } from './apply/errors.js';
import { compareTable } from './verify/compare.js';
import { describePgTable, parseTableName, pgSide, prepareVerifySession, type TableName } from './verify/pg-side.js';

export interface VerifyTableSpec {
  /** `schema.table`, `table` (schema public) or `{ schema, table }`. */
  source: string | TableName;
  /** Same forms, in the target. @default the source's schema and name */
  target?: string | TableName;
}

export interface VerifyOptions {
  /** Postgres connection string of the source. */
  source: string;
  /** Postgres connection string of the target. */
  target: string;
  /** Tables to compare. */
  tables: readonly (string | VerifyTableSpec)[];
  /** Rows per chunk. @default 1000 */
  chunkSize?: number;
}

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

/** Compares each source table with its copy in the target database; resolves `{ equal, tables }` with key lists. */
export async function verifyTables(options: VerifyOptions): Promise<VerifyResult> {
  const chunk = options.chunkSize ?? 1000;
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new ConfigError('chunkSize', 'must be a positive integer');
  const src = new pg.Client({ connectionString: options.source });
  const dst = new pg.Client({ connectionString: options.target });
  await src.connect();
  try {
    await dst.connect();
    await prepareVerifySession(src);
    await prepareVerifySession(dst);
    const out: VerifyTableResult[] = [];
    for (const spec of options.tables) {
      const s = typeof spec === 'string' ? { source: spec } : spec;
      const sn = parseTableName(s.source, 'public');
      const tn = s.target === undefined ? sn : parseTableName(s.target, sn.schema);
      const label = `${sn.schema}.${sn.table}`;
      const st = await describePgTable(src, sn);
      if (st === null) throw new ApplyError(ApplyErrorReason.Target, `source table ${label} does not exist`);
      const tt = await describePgTable(dst, tn);
      if (tt === null)
        throw new ApplyError(ApplyErrorReason.Target, `target table ${tn.schema}.${tn.table} does not exist`);
      const targetCols = new Set(tt.columns.map((c) => c.name));
      const key = st.key.map((k) => st.columns.find((c) => c.name === k) as (typeof st.columns)[number]);
      const compare = st.columns.filter((c) => !st.key.includes(c.name) && targetCols.has(c.name));
      const targetView = { ...tt, key: st.key };
      const r = await compareTable(pgSide(src, st, compare, key), pgSide(dst, targetView, compare, key), chunk);
      out.push({ table: label, ...r });
    }
    return { equal: out.every((t) => t.missing.length + t.extra.length + t.different.length === 0), tables: out };
  } finally {
    await src.end().catch(() => {});
    await dst.end().catch(() => {});
  }
}
