/** One Postgres table as a side of the comparison (the source of both sinks, the Postgres sink's target). */
import type pg from 'pg';
import { ApplyError, ApplyErrorReason } from '../apply/errors.js';
import { type ComparedRow, type CompareSide, rowHash } from './compare.js';
import { type Family, familyOf, normalizeJsonText } from './normalize.js';

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

export interface DescribedColumn {
  readonly name: string;
  readonly type: string;
  readonly family: Family;
}

export interface DescribedTable {
  readonly name: TableName;
  readonly columns: readonly DescribedColumn[];
  readonly key: readonly string[];
}

export const quotePg = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** `schema.table` (first dot) or `table` (in `defaultSchema`), or an object. */
export function parseTableName(t: string | TableName, defaultSchema: string): TableName {
  if (typeof t !== 'string') return t;
  const dot = t.indexOf('.');
  return dot < 0 ? { schema: defaultSchema, table: t } : { schema: t.slice(0, dot), table: t.slice(dot + 1) };
}

/**
 * A Postgres table name as the reader takes it when it is written with double quotes (`public."Select"`,
 * `"Shop Floor".orders`: quoted parts exact, `""` a quote, unquoted parts folded to lower case); otherwise as
 * parseTableName reads it (`schema.table`, exact). A name that does not parse as quoted identifiers is read the
 * plain way.
 */
export function parsePgTableName(t: string | TableName, defaultSchema: string): TableName {
  if (typeof t !== 'string' || !(t.startsWith('"') || t.includes('."'))) return parseTableName(t, defaultSchema);
  const parts: string[] = [];
  let i = 0;
  while (i < t.length) {
    if (t[i] === '"') {
      let part = '';
      for (i++; ; ) {
        if (i >= t.length) return parseTableName(t, defaultSchema);
        if (t[i] === '"' && t[i + 1] === '"') {
          part += '"';
          i += 2;
        } else if (t[i] === '"') {
          i++;
          break;
        } else part += t[i++];
      }
      parts.push(part);
    } else {
      const dot = t.indexOf('.', i);
      const end = dot < 0 ? t.length : dot;
      parts.push(t.slice(i, end).replace(/[A-Z]+/g, (c) => c.toLowerCase()));
      i = end;
    }
    if (i < t.length && t[i] !== '.') return parseTableName(t, defaultSchema);
    if (t[i] === '.') i++;
  }
  if (parts.length === 1) return { schema: defaultSchema, table: parts[0] as string };
  if (parts.length === 2) return { schema: parts[0] as string, table: parts[1] as string };
  return parseTableName(t, defaultSchema);
}

export async function prepareVerifySession(c: pg.Client): Promise<void> {
  await c.query(
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3",
  );
}

export async function describePgTable(c: pg.Client, n: TableName): Promise<DescribedTable | null> {
  const cols = await c.query<{ name: string; type: string; key: boolean; ident: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       COALESCE(i.indisprimary, false) AS key, COALESCE(i.indisreplident, false) AS ident
     FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace s ON s.oid = r.relnamespace
     LEFT JOIN pg_index i ON i.indrelid = r.oid AND a.attnum = ANY(i.indkey) AND (i.indisprimary OR i.indisreplident)
     WHERE s.nspname = $1 AND r.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [n.schema, n.table],
  );
  if (cols.rows.length === 0) return null;
  const order = await c.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid
     JOIN pg_namespace s ON s.oid = r.relnamespace, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
     JOIN pg_attribute a ON a.attnum = k.attnum
     WHERE s.nspname = $1 AND r.relname = $2 AND a.attrelid = r.oid AND (i.indisprimary OR i.indisreplident)
     ORDER BY i.indisprimary DESC, k.ord`,
    [n.schema, n.table],
  );
  const seen = new Set<string>();
  const key = order.rows.map((r) => r.name).filter((k) => !seen.has(k) && seen.add(k));
  const columns = cols.rows
    .filter((r, i, all) => all.findIndex((x) => x.name === r.name) === i)
    .map((r) => ({ name: r.name, type: r.type, family: familyOf(r.type) }));
  return { name: n, columns, key };
}

/**
 * @param compare the columns hashed (by name), in a fixed order; `families` says how to normalize each,
 * from the source's types (so a Postgres target is normalized the same way as its source).
 */
export function pgSide(
  c: pg.Client,
  t: DescribedTable,
  compare: readonly DescribedColumn[],
  keyFamilies: readonly DescribedColumn[],
): CompareSide {
  if (t.key.length === 0) {
    throw new ApplyError(ApplyErrorReason.Target, `${t.name.schema}.${t.name.table} has no primary key to compare by`);
  }
  const from = `${quotePg(t.name.schema)}.${quotePg(t.name.table)}`;
  const keyList = t.key.map(quotePg).join(', ');
  const select = [...t.key, ...compare.map((x) => x.name)].map((x) => `to_json(${quotePg(x)})::text`).join(', ');
  const types = new Map(t.columns.map((x) => [x.name, x.type]));
  const param = (k: string, i: number) =>
    types.get(k) === 'bytea' ? `decode($${i}, 'hex')` : `$${i}::${types.get(k) ?? 'text'}`;
  const toRows = (rows: string[][], withHash: boolean): ComparedRow[] =>
    rows.map((r) => {
      const key = t.key.map(
        (_, i) => normalizeJsonText((keyFamilies[i] as DescribedColumn).family, r[i] ?? null) ?? '',
      );
      const vals = compare.map((x, i) => normalizeJsonText(x.family, r[t.key.length + i] ?? null));
      return { key, hash: withHash ? rowHash(vals) : '' };
    });
  return {
    async page(after, limit) {
      const where = after === null ? '' : `WHERE (${keyList}) > (${t.key.map((k, i) => param(k, i + 1)).join(', ')})`;
      const r = await c.query({
        text: `SELECT ${select} FROM ${from} ${where} ORDER BY ${keyList} LIMIT ${Math.floor(limit)}`,
        values: after === null ? [] : [...after],
        rowMode: 'array',
      });
      return toRows(r.rows as string[][], true);
    },
    async byKeys(keys, withHash) {
      if (keys.length === 0) return [];
      let n = 0;
      const tuples = keys.map(() => `(${t.key.map((k) => param(k, ++n)).join(', ')})`);
      const r = await c.query({
        text: `SELECT ${select} FROM ${from} WHERE (${keyList}) IN (${tuples.join(', ')})`,
        values: keys.flat(),
        rowMode: 'array',
      });
      return toRows(r.rows as string[][], withHash);
    },
  };
}
