/** verifyTables for Postgres -> Postgres: chunked, by key, reporting keys only. */
import pg from 'pg';
import { describePgTable, parseTableName, pgSide, prepareVerifySession, type TableName } from './verify/pg-side.js';
import { type VerifyResult, type VerifyTableResult, verifyAgainst } from './verify/run.js';

export type { VerifyResult, VerifyTableResult };

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

/** Compares each source table with its copy in the target database; resolves `{ equal, tables }` with key lists. */
export function verifyTables(options: VerifyOptions): Promise<VerifyResult> {
  return verifyAgainst(options, async () => {
    const dst = new pg.Client({ connectionString: options.target });
    try {
      await dst.connect();
      await prepareVerifySession(dst);
    } catch (e) {
      await dst.end().catch(() => {});
      throw e;
    }
    return {
      locate: (source, target) => (target === undefined ? source : parseTableName(target, source.schema)),
      async describe(name) {
        const tt = await describePgTable(dst, name);
        if (tt === null) return null;
        return {
          columns: new Set(tt.columns.map((c) => c.name)),
          side: (source, key, compare) => pgSide(dst, { ...tt, key: source.key }, compare, key),
        };
      },
      close: () => dst.end(),
    };
  });
}
