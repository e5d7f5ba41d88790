/** Identifier and literal quoting for the few statements walstream builds itself. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new TypeError('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new TypeError('literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * `schema.table` or `table` (schema public); a quoted part may contain dots: `"my.schema"."t"`. Unquoted parts
 * fold to lower case as Postgres folds identifiers (ASCII letters only); quoted parts keep their case.
 */
export function parseTableName(spec: string): { schema: string; table: string } {
  const parts: string[] = [];
  let i = 0;
  while (i < spec.length) {
    if (spec[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= spec.length)
          throw new TypeError(`unterminated quoted identifier in table name ${JSON.stringify(spec)}`);
        if (spec[i] === '"' && spec[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (spec[i] === '"') {
          i++;
          break;
        } else s += spec[i++];
      }
      parts.push(s);
    } else {
      const dot = spec.indexOf('.', i);
      const end = dot < 0 ? spec.length : dot;
      parts.push(spec.slice(i, end).replace(/[A-Z]+/g, (c) => c.toLowerCase()));
      i = end;
    }
    if (spec[i] === '.') i++;
  }
  if (parts.length === 1) return { schema: 'public', table: parts[0] as string };
  if (parts.length === 2) return { schema: parts[0] as string, table: parts[1] as string };
  throw new TypeError(`table name ${JSON.stringify(spec)} must be table or schema.table`);
}
