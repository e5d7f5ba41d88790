/**
 * verifyTables: compares Postgres source tables with their MySQL copies by key, in chunks, and reports the keys
 * that are missing, extra or different (never values).
 */
import { ConfigError } from '@walstream/core';
import {
  ApplyError,
  ApplyErrorReason,
  type ComparedRow,
  type CompareSide,
  compareTable,
  type DescribedColumn,
  describePgTable,
  normalizeMysqlValue,
  parseTableName,
  pgSide,
  prepareVerifySession,
  rowHash,
  type TableName,
} from '@walstream/sink-postgres/internal';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { quoteMysql } from './dialect.js';

export interface VerifyTableSpec {
  /** `schema.table`, `table` (schema public) or `{ schema, table }`. */
  source: string | TableName;
  /** `database.table`, `table` (the connection's database) or `{ schema: database, table }`. @default the source table name */
  target?: string | TableName;
}

export interface VerifyOptions {
  /** Postgres connection string of the source. */
  source: string;
  /** MySQL connection string of the target. */
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

function mysqlSide(
  c: mysql.Connection,
  t: TableName,
  key: readonly DescribedColumn[],
  compare: readonly DescribedColumn[],
): CompareSide {
  const from = `${quoteMysql(t.schema)}.${quoteMysql(t.table)}`;
  const keyList = key.map((k) => quoteMysql(k.name)).join(', ');
  // FLOAT as its exact float32 value (the text protocol prints it with 6 digits).
  const select = [...key, ...compare]
    .map((x) => (x.family === 'real' ? `CAST(${quoteMysql(x.name)} AS DOUBLE)` : quoteMysql(x.name)))
    .join(', ');
  const param = (k: DescribedColumn, v: string): unknown =>
    k.family === 'bytea' ? Buffer.from(v, 'hex') : k.family === 'bool' ? (v === 'true' ? 1 : 0) : v;
  const toRows = (rows: unknown[][], withHash: boolean): ComparedRow[] =>
    rows.map((r) => ({
      key: key.map((k, i) => normalizeMysqlValue(k.family, r[i]) ?? ''),
      hash: withHash ? rowHash(compare.map((x, i) => normalizeMysqlValue(x.family, r[key.length + i]))) : '',
    }));
  const run = async (sql: string, values: unknown[]) => {
    const [rows] = await c.query({ sql, values, rowsAsArray: true });
    return rows as unknown[][];
  };
  return {
    async page(after, limit) {
      const where = after === null ? '' : `WHERE (${keyList}) > (${key.map(() => '?').join(', ')})`;
      const values = after === null ? [] : key.map((k, i) => param(k, after[i] as string));
      return toRows(
        await run(`SELECT ${select} FROM ${from} ${where} ORDER BY ${keyList} LIMIT ${Math.floor(limit)}`, values),
        true,
      );
    },
    async byKeys(keys, withHash) {
      if (keys.length === 0) return [];
      const where = keys.map(() => `(${key.map((k) => `${quoteMysql(k.name)} = ?`).join(' AND ')})`).join(' OR ');
      const values = keys.flatMap((kv) => key.map((k, i) => param(k, kv[i] as string)));
      return toRows(await run(`SELECT ${select} FROM ${from} WHERE ${where}`, values), withHash);
    },
  };
}

/** Compares each source table with its MySQL copy; resolves `{ equal, tables }` with key lists. */
export async function verifyTables(options: VerifyOptions): Promise<VerifyResult> {
  const chunk = options.chunkSize ?? 1000;
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new ConfigError('chunkSize', 'must be a positive integer');
  const src = new pg.Client({ connectionString: options.source });
  await src.connect();
  let dst: mysql.Connection | null = null;
  try {
    await prepareVerifySession(src);
    dst = await mysql.createConnection({
      uri: options.target,
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      // JSON columns as their text (parsed, big numbers would lose digits before we normalize).
      jsonStrings: true,
    });
    await dst.query("SET SESSION time_zone = '+00:00'");
    const [dbRows] = await dst.query('SELECT DATABASE() AS db');
    const db = (dbRows as { db: string | null }[])[0]?.db ?? '';
    const out: VerifyTableResult[] = [];
    for (const spec of options.tables) {
      const s = typeof spec === 'string' ? { source: spec } : spec;
      const sn = parseTableName(s.source, 'public');
      const tn = parseTableName(s.target ?? sn.table, db);
      const label = `${sn.schema}.${sn.table}`;
      const st = await describePgTable(src, sn);
      if (st === null) throw new ApplyError(ApplyErrorReason.Target, `source table ${label} does not exist`);
      const [cols] = await dst.execute(
        'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [tn.schema, tn.table],
      );
      const targetCols = new Set((cols as { name: string }[]).map((c) => c.name));
      if (targetCols.size === 0)
        throw new ApplyError(ApplyErrorReason.Target, `target table ${tn.schema}.${tn.table} does not exist`);
      const key = st.key.map((k) => st.columns.find((c) => c.name === k) as DescribedColumn);
      const compare = st.columns.filter((c) => !st.key.includes(c.name) && targetCols.has(c.name));
      const r = await compareTable(pgSide(src, st, compare, key), mysqlSide(dst, tn, key, compare), chunk);
      out.push({ table: label, ...r });
    }
    return { equal: out.every((t) => t.missing.length + t.extra.length + t.different.length === 0), tables: out };
  } finally {
    await src.end().catch(() => {});
    await dst?.end().catch(() => {});
  }
}
