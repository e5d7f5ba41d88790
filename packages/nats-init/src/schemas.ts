/** The TableSchema of every published table (what sink-nats puts in its KV bucket when a table is first seen). */
import type { ColumnSchema, TableSchema } from '@walstream/core';
import type pg from 'pg';

export async function publishedSchemas(client: pg.Client, publication: string): Promise<TableSchema[]> {
  const r = await client.query<{
    schema: string;
    table: string;
    oid: number;
    ident: string;
    cols: { name: string; type: string; oid: number; mod: number; key: boolean }[];
  }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.oid::int4 AS oid, c.relreplident::text AS ident,
       (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                 'oid', a.atttypid::int4, 'mod', a.atttypmod,
                 'key', COALESCE(a.attnum = ANY(i.indkey::int2[]), false)) ORDER BY a.attnum)
          FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
     FROM pg_publication_tables pt
     JOIN pg_namespace n ON n.nspname = pt.schemaname
     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     WHERE pt.pubname = $1 ORDER BY 1, 2`,
    [publication],
  );
  const IDENT = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;
  return r.rows.map((t) => ({
    schema: t.schema,
    table: t.table,
    relationId: t.oid,
    replicaIdentity: IDENT[t.ident as keyof typeof IDENT] ?? 'default',
    columns: t.cols.map(
      (c): ColumnSchema => ({ name: c.name, type: c.type, typeOid: c.oid, typeModifier: c.mod, key: c.key }),
    ),
  }));
}
