/**
 * What a snapshot needs to know about one table (published columns, primary key, row filter, size estimate),
 * and the keyset query that reads it chunk by chunk in primary-key order. Values are fetched as text and
 * decoded with the same decoders as the replication stream, so a copied row and a streamed row of the same
 * data are equal.
 */
import type { ColumnSchema, Row, TableSchema, Value } from '@walstream/core';
import type pg from 'pg';
import { quoteIdent } from '../sql.js';
import type { TypeRegistry } from '../types/registry.js';
import type { TextDecoder } from '../types/text.js';
import { NoPrimaryKeyError, SnapshotError } from './errors.js';

export interface SnapshotTable {
  readonly schema: string;
  readonly table: string;
  /** `schema.table`, unquoted; how progress and errors name it. */
  readonly name: string;
  readonly oid: number;
  readonly columns: readonly { name: string; typeOid: number; typeModifier: number; type: string }[];
  /** Positions of the primary-key columns in `columns`, in key order. */
  readonly keyIndexes: readonly number[];
  readonly selectList: string;
  readonly from: string;
  readonly orderBy: string;
  /** The publication's row filter (PG15+), applied to the copy as the stream applies it to changes. */
  readonly rowFilter: string | null;
  readonly estimatedRows: number | null;
  readonly schemaItem: TableSchema;
}

/** Columns come back as the server's text output; decoding happens here, with the stream's decoders. */
export const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value } as pg.CustomTypesConfig;

export async function describeTable(
  client: pg.Client,
  schema: string,
  table: string,
  publication: string,
  serverVersion: number,
): Promise<SnapshotTable> {
  const name = `${schema}.${table}`;
  const rel = await client.query<{ oid: number; reltuples: string; ident: string }>(
    `SELECT c.oid::int4 AS oid, c.reltuples::text AS reltuples, c.relreplident::text AS ident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  const r = rel.rows[0];
  if (r === undefined) throw new SnapshotError(`table ${name} does not exist`);
  // PG15+ publications may publish a column list and a row filter: the copy must match what the stream sends.
  let published: string[] | null = null;
  let rowFilter: string | null = null;
  if (serverVersion >= 150000) {
    const p = await client.query<{ attnames: string[] | null; rowfilter: string | null }>(
      `SELECT attnames::text[] AS attnames, rowfilter FROM pg_publication_tables
        WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`,
      [publication, schema, table],
    );
    published = p.rows[0]?.attnames ?? null;
    rowFilter = p.rows[0]?.rowfilter ?? null;
  }
  const cols = await client.query<{ name: string; oid: number; mod: number; type: string; pk: number | null }>(
    `SELECT a.attname::text AS name, a.atttypid::int4 AS oid, a.atttypmod AS mod,
            format_type(a.atttypid, a.atttypmod) AS type, array_position(i.indkey::int2[], a.attnum) AS pk
       FROM pg_attribute a
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [r.oid],
  );
  const columns = cols.rows
    .filter((c) => published === null || published.includes(c.name) || c.pk !== null)
    .map((c) => ({ name: c.name, typeOid: c.oid, typeModifier: c.mod, type: c.type, pk: c.pk }));
  const keyed = columns.filter((c) => c.pk !== null).sort((a, b) => (a.pk as number) - (b.pk as number));
  if (keyed.length === 0) throw new NoPrimaryKeyError(name);
  const keyIndexes = keyed.map((k) => columns.indexOf(k));
  const reltuples = Number(r.reltuples);
  const ident = ({ d: 'default', n: 'nothing', f: 'full', i: 'index' } as const)[r.ident as 'd'] ?? 'default';
  const schemaItem: TableSchema = {
    schema,
    table,
    relationId: r.oid,
    replicaIdentity: ident,
    columns: columns.map(
      (c): ColumnSchema => ({
        name: c.name,
        type: c.type,
        typeOid: c.typeOid,
        typeModifier: c.typeModifier,
        key: c.pk !== null,
      }),
    ),
  };
  return {
    schema,
    table,
    name,
    oid: r.oid,
    columns: columns.map(({ pk: _pk, ...c }) => c),
    keyIndexes,
    selectList: columns.map((c) => quoteIdent(c.name)).join(', '),
    from: `${quoteIdent(schema)}.${quoteIdent(table)}`,
    orderBy: keyed.map((k) => quoteIdent(k.name)).join(', '),
    rowFilter,
    estimatedRows: reltuples >= 0 ? Math.round(reltuples) : null,
    schemaItem,
  };
}

/** One chunk: decoded rows plus each row's key, and the raw text of the last key (the next chunk's boundary). */
export interface Chunk {
  readonly rows: Row[];
  readonly keys: Row[];
  readonly lastKey: string[] | null;
}

/** Rows after `after` (raw key text, null = from the start) in key order, at most `limit`. */
export async function readChunk(
  client: pg.Client,
  t: SnapshotTable,
  types: TypeRegistry,
  after: readonly string[] | null,
  limit: number,
): Promise<Chunk> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (t.rowFilter !== null) where.push(`(${t.rowFilter})`);
  if (after !== null) {
    const keyCols = t.keyIndexes.map((i) => t.columns[i] as SnapshotTable['columns'][number]);
    const params = keyCols.map((c, i) => `$${i + 1}::${c.type}`);
    where.push(`(${keyCols.map((c) => quoteIdent(c.name)).join(', ')}) > (${params.join(', ')})`);
    values.push(...after);
  }
  const text = `SELECT ${t.selectList} FROM ${t.from}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${t.orderBy} LIMIT ${limit}`;
  const res = await client.query({ text, values, rowMode: 'array', types: RAW_TEXT });
  const decoders: TextDecoder[] = t.columns.map((c) => types.get(c.typeOid).text);
  const rows: Row[] = new Array(res.rows.length);
  const keys: Row[] = new Array(res.rows.length);
  const raw = res.rows as (string | null)[][];
  for (let r = 0; r < raw.length; r++) {
    const src = raw[r] as (string | null)[];
    const row: Row = {};
    for (let i = 0; i < decoders.length; i++) {
      const v = src[i];
      row[(t.columns[i] as { name: string }).name] =
        v === null || v === undefined ? null : (decoders[i] as TextDecoder)(v);
    }
    const key: Row = {};
    for (const i of t.keyIndexes) {
      const n = (t.columns[i] as { name: string }).name;
      key[n] = row[n] as Value;
    }
    rows[r] = row;
    keys[r] = key;
  }
  const last = raw[raw.length - 1];
  return { rows, keys, lastKey: last === undefined ? null : t.keyIndexes.map((i) => last[i] as string) };
}

/** A canonical string for a key, equal for equal values however they were decoded. */
export function keyString(key: Row, columns: readonly string[]): string {
  let s = '';
  for (const c of columns) s += `${valueString(key[c] ?? null)}\u0001`;
  return s;
}

function valueString(v: Value): string {
  if (v === null) return '\u0000';
  if (typeof v === 'bigint' || typeof v === 'number') return `n${String(v)}`;
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Uint8Array) return `b${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  return `j${String(v)}`;
}
