/** verifyTables for Postgres -> Postgres: chunked, by key, reporting keys only. */
import pg from 'pg';
import { describePgTable, parsePgTableName, pgSide, prepareVerifySession, type TableName } from './verify/pg-side.js';
import {
  type VerifyOptionsBase,
  type VerifyResult,
  type VerifyTableResult,
  type VerifyTableSpecBase,
  verifyAgainst,
} from './verify/run.js';

export type { VerifyResult, VerifyTableResult };

export interface VerifyTableSpec extends VerifyTableSpecBase {
  /** Same forms as `source`, in the target. @default the source's schema and name */
  target?: string | TableName;
}

export interface VerifyOptions extends VerifyOptionsBase<VerifyTableSpec> {
  /** Postgres connection string of the target. */
  target: string;
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
      locate: (source, target) => (target === undefined ? source : parsePgTableName(target, source.schema)),
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
