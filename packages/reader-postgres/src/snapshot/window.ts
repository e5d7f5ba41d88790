/**
 * The DBLog watermark rule for on-demand chunks. While a table is being copied, the read loop records which
 * transaction touched which key since the previous chunk's high watermark. A chunk is read in a REPEATABLE READ
 * transaction whose snapshot (`pg_current_snapshot()`) is kept; when its high watermark comes through the stream,
 * a copied row is dropped if any recorded transaction that touched its key is invisible to that snapshot: the
 * stream already carried a newer version (or its delete), so the live change wins. Every other copied row is
 * the latest version as of the watermark and goes out right after it.
 *
 * This uses the snapshot's in-progress list instead of DBLog's low watermark: "committed after the low watermark"
 * is approximated there by WAL order, which misses a transaction whose commit record precedes the low watermark
 * but which was not yet visible when the chunk was read; visibility itself has no such gap.
 */
import type { ChangeEvent, Row } from '@walstream/core';
import { keyString } from './table.js';

const EPOCH = 1n << 32n;
const HALF = 1n << 31n;

export class PgSnapshot {
  private constructor(
    readonly xmin: bigint,
    readonly xmax: bigint,
    private readonly xip: ReadonlySet<bigint>,
  ) {}

  /** `pg_current_snapshot()::text`: `xmin:xmax:xip,xip,...` */
  static parse(text: string): PgSnapshot {
    const [a, b, c] = text.split(':');
    const xip = new Set<bigint>();
    for (const x of (c ?? '').split(',')) if (x !== '') xip.add(BigInt(x));
    return new PgSnapshot(BigInt(a as string), BigInt(b as string), xip);
  }

  /** Whether a transaction (32-bit xid as pgoutput sends it) had committed when the snapshot was taken. */
  visible(xid32: bigint): boolean {
    // Recorded transactions are recent: place the xid in xmax's epoch unless that puts it far past xmax.
    let x = (this.xmax & ~(EPOCH - 1n)) | (xid32 & (EPOCH - 1n));
    if (x > this.xmax + HALF) x -= EPOCH;
    return x < this.xmin || (x < this.xmax && !this.xip.has(x));
  }
}

/**
 * What the stream said last about one key in the window: a row (whole, or missing the unchanged TOAST columns no
 * change in the window carried), or that it is gone.
 */
interface KeyState {
  xids: bigint[];
  gone: boolean;
  row: Row | null;
  /** Columns no event in the window carried a value for (unchanged TOAST): the copy's value is the live one. */
  missing: readonly string[];
  /** The key whose copied row holds the missing values (another one after an UPDATE moved the key). */
  from: string;
}

/** One copied row to send: its index in the chunk and the row (the copy, or the live row completed from it). */
export interface CopiedRow {
  index: number;
  row: Row;
}

/** Keys touched in the stream since the last high watermark of one table, with the transactions that did it. */
export class ChangeWindow {
  private readonly touched = new Map<string, KeyState>();
  private truncatedBy: bigint[] = [];

  constructor(readonly keyColumns: readonly string[]) {}

  record(e: ChangeEvent): void {
    const xid = BigInt(e.transactionId);
    if (e.operation === 'TRUNCATE') {
      this.truncatedBy.push(xid);
      return;
    }
    // The old key is the before image's (an UPDATE that moved the key has the new one in `key`).
    const idKey = this.keyOf(e.key);
    const oldKey = this.keyOf(e.before) ?? idKey;
    const newKey = this.keyOf(e.after);
    const previous = oldKey === null ? undefined : this.touched.get(oldKey);
    if (oldKey !== null) this.state(oldKey, xid);
    if (idKey !== null && idKey !== oldKey && idKey !== newKey) this.state(idKey, xid);
    if (newKey === null) {
      if (oldKey !== null && e.operation === 'DELETE') this.markGone(oldKey);
      return;
    }
    const state = this.state(newKey, xid);
    if (oldKey !== null && oldKey !== newKey) this.markGone(oldKey);
    const after = e.after as Row;
    if (e.unchanged.length === 0) {
      this.set(newKey, { gone: false, row: after, missing: [], from: newKey });
      return;
    }
    // An UPDATE without the unchanged TOAST columns: their value is the last one the window carried, else the
    // copy's (no change in the window touched them, so the copy, which saw every earlier change, holds it).
    const before = previous ?? state;
    const row: Row = { ...after };
    const missing: string[] = [];
    for (const c of e.unchanged) {
      if (before.row !== null && !before.gone && !before.missing.includes(c) && Object.hasOwn(before.row, c)) {
        row[c] = before.row[c] as Row[string];
      } else missing.push(c);
    }
    this.set(newKey, { gone: false, row, missing, from: before.row !== null ? before.from : (oldKey ?? newKey) });
  }

  private keyOf(row: Row | null): string | null {
    if (row === null) return null;
    for (const c of this.keyColumns) if (!Object.hasOwn(row, c)) return null;
    return keyString(row, this.keyColumns);
  }

  private state(k: string, xid: bigint): KeyState {
    let s = this.touched.get(k);
    if (s === undefined) {
      s = { xids: [xid], gone: false, row: null, missing: [], from: k };
      this.touched.set(k, s);
    } else if (s.xids[s.xids.length - 1] !== xid) s.xids.push(xid);
    return s;
  }

  private set(k: string, v: Omit<KeyState, 'xids'>): void {
    Object.assign(this.touched.get(k) as KeyState, v);
  }

  private markGone(k: string): void {
    this.set(k, { gone: true, row: null, missing: [], from: k });
  }

  /**
   * The copied rows to send, in chunk order: those no invisible transaction touched, as copied; and for a key the
   * stream carried, its live row when the stream left columns out (unchanged TOAST) that only the copy holds
   * (otherwise a replica that did not have the row would never get them).
   */
  survivors(keys: readonly Row[], rows: readonly Row[], snapshot: PgSnapshot): CopiedRow[] {
    const out: CopiedRow[] = [];
    if (this.truncatedBy.some((x) => !snapshot.visible(x))) return out;
    const copied = keys.map((k) => keyString(k, this.keyColumns));
    const index = new Map<string, number>();
    for (let i = 0; i < copied.length; i++) index.set(copied[i] as string, i);
    const completed = new Map<number, Row>();
    for (const s of this.touched.values()) {
      if (s.gone || s.row === null || s.missing.length === 0 || s.xids.every((x) => snapshot.visible(x))) continue;
      const i = index.get(s.from);
      if (i === undefined) continue; // the copy of another chunk: it is read later, in a newer snapshot
      const copy = rows[i] as Row;
      const row: Row = { ...s.row };
      for (const c of s.missing) if (Object.hasOwn(copy, c)) row[c] = copy[c] as Row[string];
      completed.set(i, row);
    }
    for (let i = 0; i < keys.length; i++) {
      const s = this.touched.get(copied[i] as string);
      if (s === undefined || s.xids.every((x) => snapshot.visible(x))) out.push({ index: i, row: rows[i] as Row });
      else {
        const row = completed.get(i);
        if (row !== undefined) out.push({ index: i, row });
      }
    }
    return out;
  }

  clear(): void {
    this.touched.clear();
    this.truncatedBy = [];
  }
}
