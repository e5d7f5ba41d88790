/**
 * Row objects built by a function generated per table: one object literal with the table's column names as
 * constant keys, so every row of a table is created from one boilerplate with its final shape. Assigning the
 * names one by one in a loop (a keyed store that sees every column name) cost several times as much per row.
 *
 * Names go into the source only through JSON.stringify, which writes a string literal for any string. `__proto__`
 * as a literal key would set the prototype instead of a property, so that one name is a computed key read from
 * the names array.
 */
import type { Row, Value } from '@walstream/core';

/** `(v) => ({ "id": v[0], "name": v[1], ... })` for these column names. */
export function rowBuilder(names: readonly string[]): (values: readonly Value[]) => Row {
  const build = new Function('n', 'v', `return { ${props(names, (i) => `v[${i}]`)} };`) as (
    n: readonly string[],
    v: readonly Value[],
  ) => Row;
  return (values) => build(names, values);
}

/** The object literal's properties: `key: value(i)` per name. */
export function props(names: readonly string[], value: (i: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    out.push(`${name === '__proto__' ? `[n[${i}]]` : JSON.stringify(name)}: ${value(i)}`);
  }
  return out.join(', ');
}
