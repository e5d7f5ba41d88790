/**
 * Routing: where an event goes in a broker (subject, topic, routing key). Sinks take a template string or a
 * function; `rename` rewrites schema and table names before routing.
 */
import { ConfigError } from './errors.js';
import type { ChangeEvent } from './event.js';
import type { Transform } from './transform.js';

export type Route = string | ((event: ChangeEvent) => string);

const FIELDS = ['database', 'schema', 'table', 'operation', 'OPERATION'] as const;
type Field = (typeof FIELDS)[number];

/**
 * Compiles a template such as `cdc.{table}.{operation}` once. `{operation}` is lower case (`insert`),
 * `{OPERATION}` as in the event. `escapePart` is applied to each substituted value (sinks use it so a table
 * named `a.b` or `x*` cannot change the shape of a subject).
 */
export function compileRoute(
  route: Route,
  escapePart: (part: string) => string = (s) => s,
): (e: ChangeEvent) => string {
  if (typeof route === 'function') return route;
  const pieces: (string | Field)[] = [];
  const re = /\{([^}]*)\}/g;
  let last = 0;
  for (let m = re.exec(route); m !== null; m = re.exec(route)) {
    const name = m[1] as Field;
    if (!FIELDS.includes(name)) {
      throw new ConfigError('route', `unknown placeholder {${m[1]}}; use ${FIELDS.map((f) => `{${f}}`).join(', ')}`);
    }
    pieces.push(route.slice(last, m.index), name);
    last = m.index + m[0].length;
  }
  pieces.push(route.slice(last));
  const fields = new Set<string>(FIELDS);
  // Schema and table names repeat: escape each distinct one once (bounded, so hostile churn cannot grow it).
  const escaped = new Map<string, string>();
  const esc = (v: string): string => {
    let r = escaped.get(v);
    if (r === undefined) {
      r = escapePart(v);
      if (escaped.size < 10_000) escaped.set(v, r);
    }
    return r;
  };
  // Events come in runs of one table and operation: the last subject is kept and handed out again while those
  // are the same (compared by identity first: a reader hands out the same name strings for a relation). The
  // same string object each time also keeps its hash for the Map lookups that group by it.
  let lastDatabase = '';
  let lastSchema = '';
  let lastTable = '';
  let lastOperation = '';
  let lastRoute: string | null = null;
  return (e) => {
    if (
      lastRoute !== null &&
      e.table === lastTable &&
      e.operation === lastOperation &&
      e.schema === lastSchema &&
      e.database === lastDatabase
    ) {
      return lastRoute;
    }
    lastDatabase = e.database;
    lastSchema = e.schema;
    lastTable = e.table;
    lastOperation = e.operation;
    lastRoute = build(e);
    return lastRoute;
  };

  function build(e: ChangeEvent): string {
    let s = '';
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] as string;
      if (i % 2 === 0 || !fields.has(p)) {
        s += p;
        continue;
      }
      const v =
        p === 'operation'
          ? e.operation.toLowerCase()
          : p === 'OPERATION'
            ? e.operation
            : e[p as 'database' | 'schema' | 'table'];
      s += esc(v);
    }
    return s;
  }
}

export interface RenameOptions {
  /** `schema.table` or `table` -> new table name (or `schema.table` to move schemas too). @default {} */
  tables?: Readonly<Record<string, string>>;
  /** Old schema -> new schema. @default {} */
  schemas?: Readonly<Record<string, string>>;
}

/** A Transform that renames schemas and tables (so routes and target tables follow the new names). */
export function rename(options: RenameOptions): Transform {
  const tables = new Map(Object.entries(options.tables ?? {}));
  const schemas = new Map(Object.entries(options.schemas ?? {}));
  return (e) => {
    const to = tables.get(`${e.schema}.${e.table}`) ?? tables.get(e.table);
    let schema = schemas.get(e.schema) ?? e.schema;
    let table = e.table;
    if (to !== undefined) {
      const dot = to.indexOf('.');
      if (dot < 0) table = to;
      else {
        schema = to.slice(0, dot);
        table = to.slice(dot + 1);
      }
    }
    return schema === e.schema && table === e.table ? e : { ...e, schema, table };
  };
}
