/** What the SQL apply sinks share around the engine: the option checks, and the Sink that wraps the engine. */
import { ConfigError, type Position, type Sink } from '@walstream/core';
import type { Dialect } from './dialect.js';
import { ApplyEngine } from './engine.js';
import { type ApplyCommonOptions, resolveCommon } from './options.js';
import type { NormalizedMapping } from './tables.js';

/** A Sink that also tells the last source position it applied. */
export interface ApplySink extends Sink {
  /** The source position the checkpoint table holds for this sink, after open(). */
  readonly position: Position | null;
}

export function validateApplyOptions(o: ApplyCommonOptions & { connectionString?: unknown }, scheme: string): void {
  if (typeof o?.connectionString !== 'string' || o.connectionString === '') {
    throw new ConfigError('connectionString', `a ${scheme} connection string is required`);
  }
  // Another database's URL would only fail at open, with a resolver or protocol error far from the cause.
  const given = /^([a-z][a-z0-9+.-]*):\/\//i.exec(o.connectionString)?.[1]?.toLowerCase();
  const accepted = scheme === 'postgres://' ? ['postgres', 'postgresql'] : [scheme.slice(0, -3)];
  if (given !== undefined && !accepted.includes(given)) {
    throw new ConfigError('connectionString', `must be a ${scheme} URL, not a ${given}:// one`);
  }
  for (const f of ['transactionsPerCommit', 'maxRowsPerStatement', 'maxPendingBytes'] as const) {
    const v = o[f];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(f, 'must be a positive integer');
  }
  if (o.onSchemaChange !== undefined && o.onSchemaChange !== 'apply' && o.onSchemaChange !== 'error') {
    throw new ConfigError('onSchemaChange', "must be 'apply' or 'error'");
  }
  if (o.unrepresentable !== undefined && o.unrepresentable !== 'error' && o.unrepresentable !== 'null') {
    throw new ConfigError('unrepresentable', "must be 'error' or 'null'");
  }
}

/**
 * Each entry of `tables` is false or a mapping of known options: a misspelt one (`tabel`) would otherwise be
 * ignored and the table written under its source name.
 */
function validateMappings(tables: unknown, names: readonly string[]): void {
  if (tables === undefined) return;
  if (tables === null || typeof tables !== 'object') throw new ConfigError('tables', 'must be an object');
  const isList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  for (const [k, m] of Object.entries(tables)) {
    if (m === false) continue;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      throw new ConfigError(`tables.${k}`, 'must be a mapping ({ table?, columns?, ... }) or false');
    }
    for (const [opt, v] of Object.entries(m)) {
      if (opt === 'columns') {
        if (v === undefined) continue;
        if (v === null || typeof v !== 'object') throw new ConfigError(`tables.${k}.columns`, 'must be an object');
        for (const [f, list] of Object.entries(v)) {
          if (f !== 'include' && f !== 'exclude') {
            throw new ConfigError(`tables.${k}.columns.${f}`, 'unknown option; expected include or exclude');
          }
          if (list !== undefined && !isList(list)) {
            throw new ConfigError(`tables.${k}.columns.${f}`, 'must be a list of column names');
          }
        }
      } else if (!names.includes(opt)) {
        throw new ConfigError(`tables.${k}.${opt}`, `unknown option; expected ${[...names, 'columns'].join(', ')}`);
      } else if (v !== undefined && (typeof v !== 'string' || v === '')) {
        throw new ConfigError(`tables.${k}.${opt}`, 'must be a non-empty string');
      }
    }
  }
}

/** What one kind of target database brings to an apply sink. */
export interface ApplyTarget<M> {
  /** `postgres://`, `mysql://`: named when the connection string is missing. */
  readonly scheme: string;
  /** The sink's default name (its key in the checkpoint table). */
  readonly name: string;
  /** Built once the options are checked. */
  dialect(): Dialect;
  /** One entry of the sink's `tables` option, in the engine's terms. */
  mapping(m: M): NormalizedMapping;
  /** The string options of an entry of `tables` besides `columns` (`table`, and `schema` or `database`). */
  readonly mappingNames: readonly string[];
  /** Source schema -> target namespace. @default {} */
  readonly namespaces?: Record<string, string>;
}

export interface ApplySinkOptions<M> extends ApplyCommonOptions {
  connectionString: string;
  tables?: Record<string, M | false>;
}

/** Checks the options and returns the engine over `target`'s dialect as a Sink. */
export function createApplySink<M>(options: ApplySinkOptions<M>, target: ApplyTarget<M>): ApplySink {
  validateApplyOptions(options, target.scheme);
  validateMappings(options.tables, target.mappingNames);
  const common = resolveCommon(options, target.name);
  const dialect = target.dialect();
  const tables: Record<string, NormalizedMapping | false> = {};
  for (const [k, m] of Object.entries(options.tables ?? {})) tables[k] = m === false ? false : target.mapping(m);
  const engine = new ApplyEngine(dialect, common, { tables, namespaces: target.namespaces ?? {} });
  return {
    name: common.name,
    get position() {
      return engine.position;
    },
    open: (ctx) => engine.open(ctx),
    write: (batch, opts) => engine.write(batch, opts?.signal),
    close: () => engine.close(),
  };
}
