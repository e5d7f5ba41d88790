/**
 * Holds the changes of a transaction that the server streams before it commits (protocol 2+) or prepares
 * (two-phase), as raw pgoutput messages tagged with their sub-transaction id, packed as
 * `[subxid u32][length u32][bytes]` into 1 MiB chunks (no per-message objects, so the byte budget is the real
 * footprint). Past the shared budget the chunks go to a spill file in the same format. A sub-transaction abort
 * drops its changes at replay; replay yields them in order at commit.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHUNK = 1 << 20;

export interface StreamBudget {
  limitBytes: number;
  dir: string | undefined;
  used: { bytes: number };
}

export class StreamBuffer {
  /** Full chunks in memory, then the one being filled. */
  private chunks: Buffer[] = [];
  private current: Buffer | null = null;
  private fill = 0;
  private memoryBytes = 0;
  private spillDir: string | null = null;
  private spillFd: number | null = null;
  private spillBytes = 0;
  private readonly aborted = new Set<number>();
  count = 0;

  constructor(
    readonly xid: number,
    private readonly budget: StreamBudget,
    /** Whether the messages carry an xid (streamed format) or not (a non-streamed prepared transaction). */
    readonly streamed: boolean,
  ) {}

  /** Copies the message: the source buffer belongs to the socket parser. */
  add(subxid: number, data: Buffer, start: number, end: number): void {
    const len = end - start;
    const need = 8 + len;
    if (this.current === null || this.fill + need > this.current.length) this.newChunk(need);
    const c = this.current as Buffer;
    c.writeUInt32BE(subxid >>> 0, this.fill);
    c.writeUInt32BE(len, this.fill + 4);
    data.copy(c, this.fill + 8, start, end);
    this.fill += need;
    this.count++;
    if (this.budget.used.bytes > this.budget.limitBytes) this.spill();
  }

  abortSubtransaction(subxid: number): void {
    this.aborted.add(subxid);
  }

  get spilled(): boolean {
    return this.spillFd !== null;
  }

  /** Messages in arrival order, minus aborted sub-transactions. Frees everything when done. */
  *replay(): Generator<Buffer> {
    try {
      if (this.spillFd !== null) yield* this.readSpill(this.spillFd);
      const mem = this.current === null ? this.chunks : [...this.chunks, this.current.subarray(0, this.fill)];
      for (const chunk of mem) yield* this.records(chunk, 0, chunk.length);
    } finally {
      this.discard();
    }
  }

  discard(): void {
    this.budget.used.bytes -= this.memoryBytes;
    this.chunks = [];
    this.current = null;
    this.fill = 0;
    this.memoryBytes = 0;
    if (this.spillFd !== null) closeSync(this.spillFd);
    this.spillFd = null;
    if (this.spillDir !== null) rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }

  private newChunk(need: number): void {
    if (this.current !== null) this.chunks.push(this.current.subarray(0, this.fill));
    const size = Math.max(CHUNK, need);
    this.current = Buffer.allocUnsafe(size);
    this.fill = 0;
    this.memoryBytes += size;
    this.budget.used.bytes += size;
  }

  private *records(chunk: Buffer, from: number, to: number): Generator<Buffer> {
    for (let at = from; at < to; ) {
      const subxid = chunk.readUInt32BE(at);
      const len = chunk.readUInt32BE(at + 4);
      const body = chunk.subarray(at + 8, at + 8 + len);
      at += 8 + len;
      if (!this.aborted.has(subxid)) yield body;
    }
  }

  /** Reads the spill file back in chunks; a record may straddle two reads. */
  private *readSpill(fd: number): Generator<Buffer> {
    let pos = 0;
    let carry = Buffer.alloc(0);
    while (pos < this.spillBytes) {
      const buf = Buffer.allocUnsafe(carry.length + CHUNK);
      carry.copy(buf);
      const got = readSync(fd, buf, carry.length, CHUNK, pos);
      if (got === 0) throw new Error('spill file ended early');
      pos += got;
      const data = buf.subarray(0, carry.length + got);
      let end = 0; // end of the last whole record
      while (end + 8 <= data.length && end + 8 + data.readUInt32BE(end + 4) <= data.length) {
        end += 8 + data.readUInt32BE(end + 4);
      }
      yield* this.records(data, 0, end);
      carry = Buffer.from(data.subarray(end));
    }
  }

  /** Writes the in-memory chunks to this transaction's spill file and frees them. */
  private spill(): void {
    if (this.spillFd === null) {
      const root = this.budget.dir ?? tmpdir();
      mkdirSync(root, { recursive: true });
      this.spillDir = mkdtempSync(join(root, `xid${this.xid}-`));
      this.spillFd = openSync(join(this.spillDir, 'changes'), 'w+');
    }
    const parts = this.current === null ? this.chunks : [...this.chunks, this.current.subarray(0, this.fill)];
    for (const p of parts) {
      for (let off = 0; off < p.length; ) off += writeSync(this.spillFd, p, off, p.length - off, this.spillBytes + off);
      this.spillBytes += p.length;
    }
    this.budget.used.bytes -= this.memoryBytes;
    this.chunks = [];
    this.current = null;
    this.fill = 0;
    this.memoryBytes = 0;
  }
}
