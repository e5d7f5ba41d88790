/**
 * Table patterns: `schema.table`, `table` (any schema), with `*` as a wildcard in either part,
 * e.g. `public.*`, `*.audit_*`. Compiled once to a predicate.
 */
export type TableMatcher = (schema: string, table: string) => boolean;

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`);
}

export function compileTableMatcher(patterns: readonly string[]): TableMatcher {
  const parts = patterns.map((p) => {
    const dot = p.indexOf('.');
    const schema = dot < 0 ? '*' : p.slice(0, dot);
    const table = dot < 0 ? p : p.slice(dot + 1);
    return { schema: globToRegExp(schema), table: globToRegExp(table) };
  });
  return (schema, table) => parts.some((m) => m.schema.test(schema) && m.table.test(table));
}
