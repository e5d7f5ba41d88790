/**
 * Folds the changes of one target transaction into net effects per key, so each table gets a few multi-row
 * statements instead of one per change. Keys inside a plan are distinct, so the order between keys does not
 * matter; the order of changes to one key is kept by folding: a later full row replaces, a later partial row
 * (unchanged TOAST columns) merges, a delete before a write becomes "delete first".
 *
 * A key whose first change in the plan is an INSERT (or READ), or a delete, is "fresh": the target should hold no
 * row for it when the writes run. Fresh rows may go out as plain INSERTs (no ON CONFLICT), which cost the target
 * markedly less than upserts; when one meets an existing row after all, the statement fails with a unique
 * violation and the engine redoes the whole target transaction with upserts (see ApplyEngine.applyGroup).
 */
import type { Dialect, TargetTable } from './dialect.js';
import { chunkSizes } from './dialect.js';

export interface PlannedRow {
  /** Target columns written; absent columns are left as the target holds them. */
  readonly columns: readonly string[];
  /** Converted values, in `columns` order. */
  readonly values: readonly unknown[];
  /** `columns` joined: rows with the same signature share a statement. */
  readonly sig: string;
  /** True when every mapped column is present (no unchanged TOAST column is missing). */
  readonly full: boolean;
}

export function plannedRow(columns: readonly string[], values: readonly unknown[], full: boolean): PlannedRow {
  return { columns, values, sig: columns.join('\u0000'), full };
}

/** `b` over `a`: the columns of both, b's values winning. */
export function mergeRows(a: PlannedRow, b: PlannedRow, full: boolean): PlannedRow {
  const m = new Map<string, unknown>();
  for (const r of [a, b]) for (let i = 0; i < r.columns.length; i++) m.set(r.columns[i] as string, r.values[i]);
  return plannedRow([...m.keys()], [...m.values()], full);
}

interface KeyOp {
  keyValues: unknown[];
  deleteFirst: boolean;
  /** No target row is expected for this key when the writes run (see the module comment). */
  fresh: boolean;
  row: PlannedRow | null;
}

interface Group {
  columns: string[];
  rows: unknown[][];
  insert: boolean;
}

export class TablePlan {
  truncate = false;
  /** Plain INSERT statements sent (counted before each is awaited, so a failed one counts too). */
  inserts = 0;
  private readonly ops = new Map<string, KeyOp>();

  constructor(readonly target: TargetTable) {}

  get size(): number {
    return this.ops.size;
  }

  /** The row this plan will write for a key, when it has one. */
  rowFor(key: string): PlannedRow | null {
    return this.ops.get(key)?.row ?? null;
  }

  truncateAll(): void {
    this.ops.clear();
    this.truncate = true;
  }

  delete(key: string, keyValues: unknown[]): void {
    // The DELETE statements run before the writes: whatever comes next for this key meets no row.
    this.ops.set(key, { keyValues, deleteFirst: true, fresh: true, row: null });
  }

  /** A row the source inserted (INSERT, or READ from a snapshot). */
  insert(key: string, keyValues: unknown[], row: PlannedRow): void {
    this.put(key, keyValues, row, true);
  }

  /** A row the source updated: the target is expected to hold the key already. */
  write(key: string, keyValues: unknown[], row: PlannedRow): void {
    this.put(key, keyValues, row, false);
  }

  private put(key: string, keyValues: unknown[], row: PlannedRow, fresh: boolean): void {
    const op = this.ops.get(key);
    if (op === undefined) {
      this.ops.set(key, { keyValues, deleteFirst: false, fresh, row });
      return;
    }
    op.row = op.row === null || row.full ? row : mergeRows(op.row, row, op.row.full);
  }

  /**
   * Sends the plan's statements. `plainInserts`: fresh rows go out as plain INSERTs (the dialect has them and
   * the caller can redo the transaction with upserts); `inserts` counts them.
   */
  async flush(d: Dialect, maxRows: number, plainInserts = false): Promise<void> {
    const t = this.target;
    if (this.truncate) await d.deleteAll(t);
    const deletes: unknown[][] = [];
    // Plain INSERTs and upserts by signature (two maps: the signature strings are shared, so hashed once).
    const inserts = new Map<string, Group>();
    const upserts = new Map<string, Group>();
    const insert = plainInserts && d.insert !== undefined;
    for (const op of this.ops.values()) {
      if (op.deleteFirst && !this.truncate) deletes.push(op.keyValues);
      if (op.row === null) continue;
      const plain = insert && op.fresh;
      const groups = plain ? inserts : upserts;
      let g = groups.get(op.row.sig);
      if (g === undefined) {
        g = { columns: op.row.columns as string[], rows: [], insert: plain };
        groups.set(op.row.sig, g);
      }
      g.rows.push(op.row.values as unknown[]);
    }
    let i = 0;
    for (const n of chunkSizes(deletes.length, maxRows)) {
      await d.deleteKeys(t, deletes.slice(i, i + n));
      i += n;
    }
    const keySet = new Set(t.key);
    for (const g of [...inserts.values(), ...upserts.values()]) {
      const update = g.columns.filter((c) => !keySet.has(c));
      const perStatement = Math.max(1, Math.min(maxRows, 2 ** Math.floor(Math.log2(60_000 / g.columns.length))));
      let j = 0;
      for (const n of chunkSizes(g.rows.length, perStatement)) {
        const rows = g.rows.length === n ? g.rows : g.rows.slice(j, j + n);
        if (g.insert && d.insert !== undefined) {
          this.inserts++;
          await d.insert(t, g.columns, rows);
        } else {
          await d.upsert(t, g.columns, update, rows);
        }
        j += n;
      }
    }
    this.truncate = false;
    this.ops.clear();
  }
}

/** A map key for converted key values: type-tagged, so 1 and '1' stay apart. */
export function keyString(values: readonly unknown[]): string {
  if (values.length === 1) {
    // One column (the common key): a type tag and the value are unambiguous without lengths or separators.
    const v = values[0];
    if (typeof v === 'string') return `s${v}`;
    if (typeof v === 'number' || typeof v === 'bigint') return `${typeof v === 'number' ? 'd' : 'i'}${v}`;
  }
  let s = '';
  for (const v of values) {
    if (v === null || v === undefined) s += 'n;';
    else if (Buffer.isBuffer(v)) s += `b${v.toString('hex')};`;
    else s += `${typeof v}${String(v).length}:${String(v)};`;
  }
  return s;
}
