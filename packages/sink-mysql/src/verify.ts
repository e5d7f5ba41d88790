/**
 * verifyTables: compares Postgres source tables with their MySQL copies by key, in chunks, and reports the keys
 * that are missing, extra or different (never values).
 */
import {
  type ComparedRow,
  type CompareSide,
  type DescribedColumn,
  normalizeMysqlValue,
  parseTableName,
  rowHash,
  type TableName,
  type VerifyOptionsBase,
  type VerifyResult,
  type VerifyTableResult,
  type VerifyTableSpecBase,
  verifyAgainst,
} from '@walstream/sink-postgres/internal';
import mysql from 'mysql2/promise';
import { quoteMysql } from './dialect.js';

export type { VerifyResult, VerifyTableResult };

export interface VerifyTableSpec extends VerifyTableSpecBase {
  /** `database.table`, `table` (the connection's database) or `{ schema: database, table }`. @default the source table name */
  target?: string | TableName;
}

export interface VerifyOptions extends VerifyOptionsBase<VerifyTableSpec> {
  /** MySQL connection string of the target. */
  target: string;
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
  // The binary protocol: DOUBLE arrives as its exact value; MariaDB's text protocol prints some doubles one unit
  // off in the last digit (90.28571428571429 as ...28), and every such row read as different.
  const run = async (sql: string, values: unknown[]) => {
    const [rows] = await c.execute({ sql, values, rowsAsArray: true });
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
export function verifyTables(options: VerifyOptions): Promise<VerifyResult> {
  return verifyAgainst(options, async () => {
    const dst = await mysql.createConnection({
      uri: options.target,
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      // JSON columns as their text (parsed, big numbers would lose digits before we normalize).
      jsonStrings: true,
    });
    let db: string;
    try {
      await dst.query("SET SESSION time_zone = '+00:00'");
      const [dbRows] = await dst.query('SELECT DATABASE() AS db');
      db = (dbRows as { db: string | null }[])[0]?.db ?? '';
    } catch (e) {
      await dst.end().catch(() => {});
      throw e;
    }
    return {
      locate: (source, target) => parseTableName(target ?? source.table, db),
      async describe(name) {
        const [cols] = await dst.execute(
          'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
          [name.schema, name.table],
        );
        const columns = new Set((cols as { name: string }[]).map((c) => c.name));
        if (columns.size === 0) return null;
        return { columns, side: (_source, key, compare) => mysqlSide(dst, name, key, compare) };
      },
      close: () => dst.end(),
    };
  });
}
