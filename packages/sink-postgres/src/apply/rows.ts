/**
 * Source rows -> converted target values. Which target columns a row writes depends only on the row's column
 * names and the table, so that is worked out once per run of rows with the same names (the common case: every
 * row of a table has them all) and kept on the resolved table; each row then costs one conversion per value.
 * Profiled with bench/apply.mjs: building the column list, its signature and a site object per value for every
 * row was about a third of the engine's own time.
 */
import type { ChangeEvent, Row } from '@walstream/core';
import type { ConvertOptions, Dialect, TargetColumn, ValueSite } from './dialect.js';
import { ApplyError, ApplyErrorReason } from './errors.js';
import type { PlannedRow } from './planner.js';
import type { ResolvedTable } from './tables.js';

interface Source {
  readonly name: string;
  readonly col: TargetColumn;
  readonly site: ValueSite;
}

/** The target columns written by rows with the column names `names` (in `for...in` order). */
export interface RowShape {
  readonly names: readonly string[];
  readonly sources: readonly Source[];
  readonly columns: readonly string[];
  /** `columns` joined by NUL: rows with the same signature share a statement. */
  readonly sig: string;
  /** Where each target key column is in `sources`, or null when a key column is not among them. */
  readonly keyAt: readonly number[] | null;
}

function shapeOf(t: ResolvedTable, after: Row): RowShape {
  const last = t.shape;
  if (last !== null) {
    let i = 0;
    let same = true;
    for (const name in after) {
      if (last.names[i] !== name) {
        same = false;
        break;
      }
      i++;
    }
    if (same && i === last.names.length) return last;
  }
  const names: string[] = [];
  const sources: Source[] = [];
  for (const name in after) {
    names.push(name);
    if (!t.included(name)) continue;
    const col = t.target.columns.get(name);
    if (col === undefined) {
      if (t.dropped.has(name)) continue;
      throw new ApplyError(
        ApplyErrorReason.Target,
        `source column ${t.source}.${name} has no column in target ${t.label} (add it, exclude it, or let onSchemaChange 'apply' add it)`,
      );
    }
    sources.push({ name, col, site: { table: t.label, column: name } });
  }
  const columns = sources.map((s) => s.name);
  const keyAt = t.target.key.map((k) => columns.indexOf(k));
  const shape: RowShape = {
    names,
    sources,
    columns,
    sig: columns.join('\u0000'),
    keyAt: keyAt.includes(-1) ? null : keyAt,
  };
  t.shape = shape;
  return shape;
}

/** The row an INSERT, READ or UPDATE writes; `full` is false when an unchanged TOAST column is left out. */
export function convertRow(d: Dialect, o: ConvertOptions, t: ResolvedTable, e: ChangeEvent): PlannedRow {
  const after = e.after ?? {};
  const shape = shapeOf(t, after);
  const values: unknown[] = new Array(shape.sources.length);
  for (let i = 0; i < shape.sources.length; i++) {
    const s = shape.sources[i] as Source;
    values[i] = d.convert(s.col, after[s.name] ?? null, s.site, o);
  }
  const full = e.unchanged.length === 0 || !e.unchanged.some((c) => t.included(c) && t.target.columns.has(c));
  return { columns: shape.columns, values, sig: shape.sig, full };
}

/**
 * The key values of the row convertRow just converted for `t`, taken from its converted values (the key
 * columns are converted once, not twice); null when the row lacks a key column (use keyValues then).
 */
export function keyOfConverted(t: ResolvedTable, row: PlannedRow): unknown[] | null {
  const keyAt = t.shape?.keyAt;
  if (keyAt == null || t.shape?.columns !== row.columns) return null;
  const out: unknown[] = new Array(keyAt.length);
  for (let i = 0; i < keyAt.length; i++) out[i] = row.values[keyAt[i] as number];
  return out;
}

/** Key values from `row`, else from `fallback` (the event's key), converted for the target. */
export function keyValues(
  d: Dialect,
  o: ConvertOptions,
  t: ResolvedTable,
  row: Row | null,
  fallback: Row | null,
  e: ChangeEvent,
): unknown[] {
  const key = t.target.key;
  const out: unknown[] = new Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const k = key[i] as string;
    let v = row?.[k];
    if (v === undefined) v = fallback?.[k];
    if (v === undefined) {
      throw new ApplyError(
        ApplyErrorReason.Target,
        `${t.label}: key column ${k} is not in the change ${e.id} of ${t.source}`,
      );
    }
    const s = t.keySources[i];
    if (s === undefined) throw new ApplyError(ApplyErrorReason.Target, `${t.label}: key column ${k} not described`);
    out[i] = d.convert(s.col, v, s.site, o);
  }
  return out;
}

/** Key columns with their sites, for keyValues; undefined where the target does not describe the column. */
export function keySourcesOf(t: { target: ResolvedTable['target']; label: string }): (Source | undefined)[] {
  return t.target.key.map((k) => {
    const col = t.target.columns.get(k);
    return col === undefined ? undefined : { name: k, col, site: { table: t.label, column: k } };
  });
}
