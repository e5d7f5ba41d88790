import type { ChangeEvent, Operation } from './event.js';
import type { Sink } from './interfaces.js';
import { compileTableMatcher } from './table-match.js';
import { type Transform, transformSink } from './transform.js';

export interface FilterOptions {
  /** Keep only these tables (`schema.table`, `table`, `*` wildcards). @default all tables */
  tables?: readonly string[];
  /** Drop these tables, checked after `tables`. @default none */
  excludeTables?: readonly string[];
  /** Keep only these operations. @default all operations */
  operations?: readonly Operation[];
  /** Keep an event only when this returns true. @default keep */
  predicate?: (event: ChangeEvent) => boolean;
}

/** A Transform that keeps the events matching every given condition. */
export function filter(options: FilterOptions): Transform {
  const include = options.tables ? compileTableMatcher(options.tables) : null;
  const exclude = options.excludeTables ? compileTableMatcher(options.excludeTables) : null;
  const ops = options.operations ? new Set<string>(options.operations) : null;
  const predicate = options.predicate;
  return (e) => {
    if (ops !== null && !ops.has(e.operation)) return null;
    if (include !== null && !include(e.schema, e.table)) return null;
    if (exclude?.(e.schema, e.table)) return null;
    if (predicate !== undefined && !predicate(e)) return null;
    return e;
  };
}

/** `sink`, seeing only the events that pass `options`. */
export function filterSink(sink: Sink, options: FilterOptions): Sink {
  return transformSink(sink, filter(options));
}
