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

/** Keys touched in the stream since the last high watermark of one table, with the transactions that did it. */
export class ChangeWindow {
  private readonly touched = new Map<string, bigint[]>();
  private truncatedBy: bigint[] = [];

  constructor(readonly keyColumns: readonly string[]) {}

  record(e: ChangeEvent): void {
    const xid = BigInt(e.transactionId);
    if (e.operation === 'TRUNCATE') {
      this.truncatedBy.push(xid);
      return;
    }
    this.add(e.key, xid);
    this.add(e.before, xid);
    this.add(e.after, xid);
  }

  private add(row: Row | null, xid: bigint): void {
    if (row === null) return;
    for (const c of this.keyColumns) if (!Object.hasOwn(row, c)) return;
    const k = keyString(row, this.keyColumns);
    const list = this.touched.get(k);
    if (list === undefined) this.touched.set(k, [xid]);
    else if (list[list.length - 1] !== xid) list.push(xid);
  }

  /** Indexes of the copied rows that survive: no invisible transaction touched their key. */
  survivors(keys: readonly Row[], snapshot: PgSnapshot): number[] {
    const out: number[] = [];
    if (this.truncatedBy.some((x) => !snapshot.visible(x))) return out;
    for (let i = 0; i < keys.length; i++) {
      const xids = this.touched.get(keyString(keys[i] as Row, this.keyColumns));
      if (xids?.some((x) => !snapshot.visible(x))) continue;
      out.push(i);
    }
    return out;
  }

  clear(): void {
    this.touched.clear();
    this.truncatedBy = [];
  }
}
