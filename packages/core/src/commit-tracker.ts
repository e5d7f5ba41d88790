/**
 * Decides what may be confirmed to the source. Every transaction end (commit marker) is a checkpoint that
 * becomes safe once every sink has written the batch that carried it; sinks write batches in order, so
 * "written up to seq s" means every batch <= s is durable there. The committed position is the last
 * checkpoint whose batch every sink has written: the minimum over sinks of each one's highest contiguous
 * fully-written transaction. A received position is never committed by itself.
 */
import type { Position } from './position.js';

interface Pending {
  readonly seq: number;
  readonly value: number;
}

/** A FIFO of (seq, value) with an amortised O(1) shift. */
class SeqQueue<T extends { seq: number }> {
  private items: T[] = [];
  private head = 0;
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  get size(): number {
    return this.items.length - this.head;
  }
}

export class CommitTracker {
  private readonly written: number[];
  private readonly checkpoints = new SeqQueue<{ seq: number; position: Position }>();
  private readonly batches = new SeqQueue<Pending>();
  private minWritten = 0;
  committed: Position | null = null;

  constructor(sinkCount: number) {
    this.written = new Array<number>(sinkCount).fill(0);
  }

  /** A transaction end travelling in batch `seq`. */
  addCheckpoint(position: Position, seq: number): void {
    this.checkpoints.push({ seq, position });
  }

  /** A batch of `bytes` was handed to the sinks. */
  addBatch(seq: number, bytes: number): void {
    this.batches.push({ seq, value: bytes });
  }

  /** Sink `sink` has durably written batch `seq`. Returns the bytes released (written by every sink). */
  markWritten(sink: number, seq: number): number {
    this.written[sink] = seq;
    let min = seq;
    for (const w of this.written) if (w < min) min = w;
    if (min === this.minWritten) return 0;
    this.minWritten = min;
    let cp = this.checkpoints.peek();
    while (cp !== undefined && cp.seq <= min) {
      this.committed = cp.position;
      this.checkpoints.shift();
      cp = this.checkpoints.peek();
    }
    let released = 0;
    let b = this.batches.peek();
    while (b !== undefined && b.seq <= min) {
      released += b.value;
      this.batches.shift();
      b = this.batches.peek();
    }
    return released;
  }

  /** Highest batch every sink has written. */
  get writtenByAll(): number {
    return this.minWritten;
  }

  writtenBy(sink: number): number {
    return this.written[sink] ?? 0;
  }

  get pendingCheckpoints(): number {
    return this.checkpoints.size;
  }
}
