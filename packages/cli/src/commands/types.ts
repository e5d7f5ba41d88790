/**
 * `walstream types`: TypeScript types, zod schemas and a JSON Schema for the published tables, read from the
 * catalog, describing rows as walstream's canonical JSON carries them (int8 and numeric as strings, bytea as
 * base64, float NaN/Infinity as strings, enums as their labels), so consumers get typed events.
 */
import { quoteLiteral } from '@walstream/reader-postgres';
import pg from 'pg';

export interface ColumnInfo {
  name: string;
  /** format_type of the column. */
  type: string;
  notNull: boolean;
  /** The JSON shape after domains are resolved. */
  shape: Shape;
}

export interface TableTypes {
  schema: string;
  table: string;
  columns: ColumnInfo[];
}

export type Shape =
  | { kind: 'number' }
  | { kind: 'float' }
  | { kind: 'string'; format?: string }
  | { kind: 'boolean' }
  | { kind: 'json' }
  | { kind: 'enum'; labels: string[] }
  | { kind: 'array'; of: Shape };

const COLUMNS = `
SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
  a.attnotnull AS not_null, a.atttypid::int AS type_oid
FROM pg_publication_tables pt
JOIN pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE pt.pubname = $1
ORDER BY n.nspname, c.relname, a.attnum`;

const TYPES = `
SELECT t.oid::int AS oid, t.typname AS name, t.typtype::text AS typtype, t.typbasetype::int AS base, t.typelem::int AS elem,
  t.typcategory::text AS category,
  CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels
FROM pg_type t WHERE t.oid = ANY($1::oid[])`;

interface TypeRow {
  oid: number;
  name: string;
  typtype: string;
  base: number;
  elem: number;
  category: string;
  labels: string[] | null;
}

const NUMBER_NAMES = new Set(['int2', 'int4', 'oid']);
const FLOAT_NAMES = new Set(['float4', 'float8']);
const FORMATS: Record<string, string> = { uuid: 'uuid', timestamptz: 'date-time', date: 'date' };

async function loadTypes(client: pg.Client, oids: number[]): Promise<Map<number, TypeRow>> {
  const known = new Map<number, TypeRow>();
  let todo = [...new Set(oids)];
  // Domains and arrays point to other types: follow them until every one is known.
  for (let depth = 0; todo.length > 0 && depth < 16; depth++) {
    const rows = (await client.query<TypeRow>(TYPES, [todo])).rows;
    for (const r of rows) known.set(r.oid, r);
    todo = rows.flatMap((r) => [r.base, r.elem]).filter((o) => o !== 0 && !known.has(o));
  }
  return known;
}

function shapeOf(oid: number, types: Map<number, TypeRow>, depth = 0): Shape {
  const t = types.get(oid);
  if (!t || depth > 16) return { kind: 'string' };
  if (t.typtype === 'd') return shapeOf(t.base, types, depth + 1);
  if (t.typtype === 'e') return { kind: 'enum', labels: t.labels ?? [] };
  if (t.category === 'A' && t.elem !== 0) return { kind: 'array', of: shapeOf(t.elem, types, depth + 1) };
  if (NUMBER_NAMES.has(t.name)) return { kind: 'number' };
  if (FLOAT_NAMES.has(t.name)) return { kind: 'float' };
  if (t.name === 'bool') return { kind: 'boolean' };
  if (t.name === 'json' || t.name === 'jsonb') return { kind: 'json' };
  const format = FORMATS[t.name] ?? (t.name === 'bytea' ? 'byte' : undefined);
  return format ? { kind: 'string', format } : { kind: 'string' };
}

export async function readTableTypes(clientConfig: pg.ClientConfig, publication: string): Promise<TableTypes[]> {
  const client = new pg.Client({ ...clientConfig, application_name: 'walstream-types' });
  client.on('error', () => {});
  await client.connect();
  try {
    const cols = (
      await client.query<{
        schema: string;
        table: string;
        name: string;
        type: string;
        not_null: boolean;
        type_oid: number;
      }>(COLUMNS, [publication])
    ).rows;
    const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
    if (exists.rowCount === 0) throw new Error(`publication ${quoteLiteral(publication)} does not exist`);
    const types = await loadTypes(
      client,
      cols.map((c) => c.type_oid),
    );
    const tables = new Map<string, TableTypes>();
    for (const c of cols) {
      const key = `${c.schema}.${c.table}`;
      let t = tables.get(key);
      if (!t) {
        t = { schema: c.schema, table: c.table, columns: [] };
        tables.set(key, t);
      }
      t.columns.push({ name: c.name, type: c.type, notNull: c.not_null, shape: shapeOf(c.type_oid, types) });
    }
    return [...tables.values()];
  } finally {
    await client.end().catch(() => {});
  }
}

/** `"Shop Floor"."Order Items"` -> `ShopFloorOrderItems`; `public.orders` -> `Orders`. */
export function typeName(schema: string, table: string): string {
  const words = `${schema === 'public' ? '' : `${schema} `}${table}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('') || 'Table';
  return /^[0-9]/.test(name) ? `T${name}` : name;
}

const tsString = (s: string) => JSON.stringify(s);

/**
 * Catalog text inside a generated comment: a name or type holding `*` and `/` side by side would end the comment
 * and turn the rest of it into code (a table named `x*\/ alert()`), so the pair is split.
 */
const inComment = (s: string) => s.replace(/\*\//g, '*\u200b/');

function tsType(s: Shape): string {
  switch (s.kind) {
    case 'number':
      return 'number';
    case 'float':
      return "number | 'NaN' | 'Infinity' | '-Infinity'";
    case 'boolean':
      return 'boolean';
    case 'json':
      return 'unknown';
    case 'enum':
      return s.labels.length ? s.labels.map(tsString).join(' | ') : 'string';
    case 'array':
      return `Array<${tsType(s.of)} | null>`;
    default:
      return 'string';
  }
}

function zodType(s: Shape): string {
  switch (s.kind) {
    case 'number':
      return 'z.number()';
    case 'float':
      return "z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])])";
    case 'boolean':
      return 'z.boolean()';
    case 'json':
      return 'z.unknown()';
    case 'enum':
      return s.labels.length ? `z.enum([${s.labels.map(tsString).join(', ')}])` : 'z.string()';
    case 'array':
      return `z.array(${zodType(s.of)}.nullable())`;
    default:
      return 'z.string()';
  }
}

function jsonSchema(s: Shape): Record<string, unknown> {
  switch (s.kind) {
    case 'number':
      return { type: 'integer' };
    case 'float':
      return { anyOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }] };
    case 'boolean':
      return { type: 'boolean' };
    case 'json':
      return {};
    case 'enum':
      return { enum: s.labels };
    case 'array':
      return { type: 'array', items: { anyOf: [jsonSchema(s.of), { type: 'null' }] } };
    default:
      return s.format === 'byte'
        ? { type: 'string', contentEncoding: 'base64' }
        : { type: 'string', ...(s.format ? { format: s.format } : {}) };
  }
}

const HEADER =
  '// Generated by `walstream types` from the database catalog. Do not edit: run it again after a schema change.\n';

export function renderTypeScript(tables: readonly TableTypes[]): string {
  const parts = [HEADER];
  parts.push(
    `/** The canonical JSON envelope of a walstream change event for one table. */
export interface ChangeEventOf<S extends string, T extends string, R> {
  id: string;
  position: { lsn: string; index: number };
  operation: 'READ' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';
  timestamp: string;
  transactionId: string;
  database: string;
  schema: S;
  table: T;
  key: Partial<R> | null;
  before: Partial<R> | null;
  /** Unchanged TOAST columns are absent (listed in \`unchanged\`). */
  after: Partial<R> | null;
  unchanged: Array<keyof R & string>;
}
`,
  );
  const names: string[] = [];
  for (const t of tables) {
    const n = typeName(t.schema, t.table);
    names.push(n);
    const cols = t.columns.map(
      (c) =>
        `  /** ${inComment(c.type)}${c.notNull ? ' NOT NULL' : ''} */\n  ${tsString(c.name)}: ${tsType(c.shape)}${c.notNull ? '' : ' | null'};`,
    );
    parts.push(
      `/** Row of ${inComment(`${t.schema}.${t.table}`)}. */\nexport interface ${n}Row {\n${cols.join('\n')}\n}\n`,
    );
    parts.push(`export type ${n}Event = ChangeEventOf<${tsString(t.schema)}, ${tsString(t.table)}, ${n}Row>;\n`);
  }
  parts.push(
    `/** Any event of the published tables; narrow it on \`schema\` and \`table\`. */\nexport type WalstreamEvent = ${names.length ? names.map((n) => `${n}Event`).join(' | ') : 'never'};\n`,
  );
  return parts.join('\n');
}

export function renderZod(tables: readonly TableTypes[]): string {
  const parts = [HEADER, "import { z } from 'zod';\n"];
  for (const t of tables) {
    const n = typeName(t.schema, t.table);
    const cols = t.columns.map((c) => `  ${tsString(c.name)}: ${zodType(c.shape)}${c.notNull ? '' : '.nullable()'},`);
    parts.push(
      `/** Row of ${inComment(`${t.schema}.${t.table}`)}. */\nexport const ${n}Row = z.object({\n${cols.join('\n')}\n});\nexport type ${n}Row = z.infer<typeof ${n}Row>;\n`,
    );
  }
  return parts.join('\n');
}

export function renderJsonSchema(tables: readonly TableTypes[]): string {
  const defs: Record<string, unknown> = {};
  for (const t of tables) {
    defs[`${t.schema}.${t.table}`] = {
      type: 'object',
      properties: Object.fromEntries(
        t.columns.map((c) => [
          c.name,
          c.notNull ? jsonSchema(c.shape) : { anyOf: [jsonSchema(c.shape), { type: 'null' }] },
        ]),
      ),
      required: t.columns.map((c) => c.name),
      additionalProperties: false,
    };
  }
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'walstream rows', $defs: defs }, null, 2)}\n`;
}
