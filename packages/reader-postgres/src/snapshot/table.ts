/**
 * What a snapshot needs to know about one table (published columns, primary key, row filter, size estimate),
 * and the keyset query that reads it chunk by chunk in primary-key order. Values are fetched as text and
 * decoded with the same decoders as the replication stream, so a copied row and a streamed row of the same
 * data are equal.
 */
import { type ColumnSchema, DecodeError, type Row, type TableSchema, type Value } from '@walstream/core';
import type pg from 'pg';
import { props } from '../row-builder.js';
import { quoteIdent, quoteLiteral } from '../sql.js';
import type { TypeRegistry } from '../types/registry.js';
import { asText, type TextDecoder } from '../types/text.js';
import { type CopyOptions, copyOut, splitCopyRow } from './copy.js';
import { NoPrimaryKeyError, SnapshotError } from './errors.js';

export interface SnapshotTable {
  readonly schema: string;
  readonly table: string;
  /** `schema.table`, unquoted; how progress and errors name it. */
  readonly name: string;
  readonly oid: number;
  /**
   * `type` as the stream names it (format_type without the modifier: `numeric`, `character varying`), so a
   * copied table's schema item equals the streamed one; `sqlType` with it (`numeric(10,2)`), for casts.
   */
  readonly columns: readonly { name: string; typeOid: number; typeModifier: number; type: string; sqlType: string }[];
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

export async function describeTable(
  client: pg.Client,
  schema: string,
  table: string,
  publication: string,
  serverVersion: number,
): Promise<SnapshotTable> {
  const name = `${schema}.${table}`;
  const rel = await client.query<{ oid: number; reltuples: string; ident: string; relkind: string; bytes: string }>(
    `SELECT c.oid::int4 AS oid, c.reltuples::text AS reltuples, c.relreplident::text AS ident,
            c.relkind::text AS relkind, pg_relation_size(c.oid)::text AS bytes
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
  const cols = await client.query<{
    name: string;
    oid: number;
    mod: number;
    type: string;
    sqlType: string;
    pk: number | null;
    generated: boolean;
  }>(
    `SELECT a.attname::text AS name, a.atttypid::int4 AS oid, a.atttypmod AS mod, format_type(a.atttypid, NULL) AS type,
            format_type(a.atttypid, a.atttypmod) AS "sqlType", array_position(i.indkey::int2[], a.attnum) AS pk,
            a.attgenerated <> '' AS generated
       FROM pg_attribute a
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [r.oid],
  );
  // A generated column only when the publication names it (PG18 publishes stored ones listed in a column list or
  // with publish_generated_columns): the copied row has the columns the stream sends, no more, no fewer.
  const columns = cols.rows
    .filter((c) =>
      c.generated
        ? published?.includes(c.name) === true
        : published === null || published.includes(c.name) || c.pk !== null,
    )
    .map((c) => ({
      name: c.name,
      typeOid: c.oid,
      typeModifier: c.mod,
      type: c.type,
      sqlType: c.sqlType,
      pk: c.pk,
    }));
  const keyed = columns.filter((c) => c.pk !== null).sort((a, b) => (a.pk as number) - (b.pk as number));
  if (keyed.length === 0) throw new NoPrimaryKeyError(name);
  const keyIndexes = keyed.map((k) => columns.indexOf(k));
  const from = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const reltuples = Number(r.reltuples) >= 0 ? Number(r.reltuples) : await plannerRows(client, from, r);
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
    from,
    orderBy: keyed.map((k) => quoteIdent(k.name)).join(', '),
    rowFilter,
    estimatedRows: reltuples === null ? null : Math.round(reltuples),
    schemaItem,
  };
}

/**
 * Rows of a table pg_class has no count for yet (reltuples -1: never vacuumed or analyzed, e.g. loaded just before
 * the slot was created): the planner's estimate, which it takes from the pages on disk. An empty table file is 0
 * rows (the planner would assume ten pages of them); a partitioned table's own file is always empty, so its
 * estimate is the plan's over its partitions. It runs where the copy's own queries run, with no failure of its own
 * to expect: it reads the table the copy is about to read.
 */
async function plannerRows(
  client: pg.Client,
  from: string,
  rel: { relkind: string; bytes: string },
): Promise<number | null> {
  if (rel.relkind !== 'p' && Number(rel.bytes) === 0) return 0;
  const plan = await client.query<{ 'QUERY PLAN': { Plan?: { 'Plan Rows'?: unknown } }[] }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${from}`,
  );
  const rows = plan.rows[0]?.['QUERY PLAN'][0]?.Plan?.['Plan Rows'];
  return typeof rows === 'number' && rows >= 0 ? rows : null;
}

/** One chunk: decoded rows plus each row's key, and the raw text of the last key (the next chunk's boundary). */
export interface Chunk {
  readonly rows: Row[];
  readonly keys: Row[];
  readonly lastKey: string[] | null;
}

/**
 * The keyset query of one chunk: rows after `after` (raw key text, null = from the start) in key order, at most
 * `limit` (null: to the end of the table). It runs under COPY (see copy.ts), which takes no bind parameters: the
 * boundary goes in as literals cast to the key columns' types, exactly what parameters would be (the session pins
 * standard_conforming_strings).
 */
export function chunkSelect(t: SnapshotTable, after: readonly string[] | null, limit: number | null): string {
  const where: string[] = [];
  if (t.rowFilter !== null) where.push(`(${t.rowFilter})`);
  if (after !== null) {
    const keyCols = t.keyIndexes.map((i) => t.columns[i] as SnapshotTable['columns'][number]);
    const literals = keyCols.map((c, i) => `${quoteLiteral(after[i] as string)}::${c.sqlType}`);
    where.push(`(${keyCols.map((c) => quoteIdent(c.name)).join(', ')}) > (${literals.join(', ')})`);
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return `SELECT ${t.selectList} FROM ${t.from}${filter} ORDER BY ${t.orderBy}${limit === null ? '' : ` LIMIT ${limit}`}`;
}

/** Called per row with its decoded values, its key, its size on the wire and its COPY text (see keyText). */
export type CopyRowSink = (row: Row, key: Row, bytes: number, line: string) => void;

/** Runs `select` under COPY, handing each decoded row to `onRow` as it arrives. */
export async function copyRows(
  client: pg.Client,
  t: SnapshotTable,
  types: TypeRegistry,
  select: string,
  onRow: CopyRowSink,
  o: CopyOptions = {},
): Promise<void> {
  const decode = rowDecoder(t, types);
  await copyOut(
    client,
    select,
    (line, bytes) => {
      const row = decode.line(line);
      onRow(row, decode.key(row), bytes, line);
    },
    o,
  );
}

/** A row's key as the server wrote it (key columns are never NULL): the boundary a chunk after it starts from. */
export function keyText(t: SnapshotTable, line: string): string[] {
  const fields = splitCopyRow(line, t.columns.length);
  return t.keyIndexes.map((i) => fields[i] as string);
}

/** One whole chunk in memory (on-demand snapshots hold it until its high watermark). */
export async function readChunk(
  client: pg.Client,
  t: SnapshotTable,
  types: TypeRegistry,
  after: readonly string[] | null,
  limit: number,
): Promise<Chunk> {
  const rows: Row[] = [];
  const keys: Row[] = [];
  let last: string | null = null;
  await copyRows(client, t, types, chunkSelect(t, after, limit), (row, key, _bytes, line) => {
    rows.push(row);
    keys.push(key);
    last = line;
  });
  return { rows, keys, lastKey: last === null ? null : keyText(t, last) };
}

export interface RowDecoder {
  (fields: readonly (string | null)[]): Row;
  /** A COPY text row (see splitCopyRow), split and decoded in one generated pass when it has no escapes. */
  line(text: string): Row;
  /** The key columns of a decoded row, in key order. */
  key(row: Row): Row;
}

/**
 * Decodes a row's column texts with the stream's text decoders. A failure names the column and type, never
 * the value (the decoders' own messages never quote it either).
 *
 * The row is built by a function generated for the table (see row-builder.ts): one object literal, so every row
 * of a table shares one shape at once; assigning names in a loop cost seven times as much per row.
 */
export function rowDecoder(t: SnapshotTable, types: TypeRegistry): RowDecoder {
  // Looked up for every chunk: a type loaded while a long snapshot runs is used from the next chunk on.
  const decoders: TextDecoder[] = t.columns.map((c) => types.get(c.typeOid).text);
  const cached = rowDecoders.get(t);
  if (cached?.decoders.every((d, i) => d === decoders[i])) return cached.decode;
  const decode = newRowDecoder(t, decoders);
  rowDecoders.set(t, { decoders, decode });
  return decode;
}

/** One per table description while its types stay the same: the generated functions stay warm across chunks. */
const rowDecoders = new WeakMap<SnapshotTable, { decoders: readonly TextDecoder[]; decode: RowDecoder }>();

function newRowDecoder(t: SnapshotTable, decoders: readonly TextDecoder[]): RowDecoder {
  const names = t.columns.map((c) => c.name);
  const build = generatedBuilder(names) as (
    n: readonly string[],
    d: readonly TextDecoder[],
    f: readonly (string | null)[],
  ) => Row;
  const keyNames = t.keyIndexes.map((i) => names[i] as string);
  const buildKey = generatedBuilder(keyNames, true) as (n: readonly string[], r: Row) => Row;
  const decode = ((fields: readonly (string | null)[]): Row => {
    try {
      return build(names, decoders, fields);
    } catch {
      throw decodeFailure(t, decoders, fields);
    }
  }) as RowDecoder;
  decode.key = (row: Row): Row => buildKey(keyNames, row);
  const fused = fusedBuilder(names, decoders);
  const columns = names.length;
  decode.line = (text: string): Row => {
    // Without a backslash there is no escape and no `\N`: every field is its own text, not NULL.
    if (text.indexOf('\\') === -1) {
      let row: Row | null;
      try {
        row = fused(names, decoders, text);
      } catch {
        throw decodeFailure(t, decoders, splitCopyRow(text, columns));
      }
      if (row !== null) return row;
    }
    // Escapes, NULLs, or a wrong column count (splitCopyRow's DecodeError).
    return decode(splitCopyRow(text, columns));
  };
  return decode;
}

/**
 * `(n, d, l) => { ...split l on tabs into f0..fN...; return { "id": d[0](f0), "name": f1, ... } }`, or null when
 * the row has another column count: splitting and decoding in one pass spares each row its array of fields and
 * the calls between (a sixth of a snapshot's allocations). Text columns take their field as it is.
 */
function fusedBuilder(
  names: readonly string[],
  decoders: readonly TextDecoder[],
): (n: readonly string[], d: readonly TextDecoder[], l: string) => Row | null {
  const last = names.length - 1;
  let body = 'let a = 0, b = 0;\n';
  for (let i = 0; i < last; i++) {
    body += `b = l.indexOf('\\t', a); if (b === -1) return null; const f${i} = l.slice(a, b); a = b + 1;\n`;
  }
  body += `if (l.indexOf('\\t', a) !== -1) return null; const f${last} = l.slice(a);\n`;
  body += `return { ${props(names, (i) => (decoders[i] === asText ? `f${i}` : `d[${i}](f${i})`))} };`;
  return new Function('n', 'd', 'l', body) as (
    n: readonly string[],
    d: readonly TextDecoder[],
    l: string,
  ) => Row | null;
}

/** The column that failed, decoded again one by one to name it. */
function decodeFailure(t: SnapshotTable, decoders: readonly TextDecoder[], fields: readonly (string | null)[]) {
  for (let i = 0; i < decoders.length; i++) {
    const v = fields[i];
    if (v === null || v === undefined) continue;
    try {
      (decoders[i] as TextDecoder)(v);
    } catch (err) {
      const c = t.columns[i] as SnapshotTable['columns'][number];
      return new DecodeError(
        `cannot decode column ${c.name} (${c.type}) of ${t.name}: ${err instanceof DecodeError ? err.message : (err as Error).name}`,
      );
    }
  }
  return new DecodeError(`cannot decode a row of ${t.name}`);
}

/**
 * `(n, d, f) => ({ "id": f[0] == null ? null : d[0](f[0]), ... })`, or with `pick` set
 * `(n, r) => ({ "id": r[n[0]] ?? null, ... })`: constant keys (see row-builder.ts), the decoders called inline.
 */
function generatedBuilder(names: readonly string[], pick = false): unknown {
  return pick
    ? new Function('n', 'r', `return { ${props(names, (i) => `r[n[${i}]] ?? null`)} };`)
    : new Function('n', 'd', 'f', `return { ${props(names, (i) => `f[${i}] == null ? null : d[${i}](f[${i}])`)} };`);
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
