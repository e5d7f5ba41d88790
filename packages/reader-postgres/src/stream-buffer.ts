/**
 * Holds the changes of a transaction that the server streams before it commits (protocol 2+) or prepares
 * (two-phase), as raw pgoutput message bytes tagged with their sub-transaction id. Past `memoryBytes` they
 * spill to a file; a sub-transaction abort drops its changes; replay yields them in order at commit.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Entry {
  subxid: number;
  bytes: Buffer;
}

export class StreamBuffer {
  private memory: Entry[] = [];
  private memoryBytes = 0;
  private spillDir: string | null = null;
  private spillFd: number | null = null;
  private spilledCount = 0;
  private readonly aborted = new Set<number>();
  count = 0;

  constructor(
    readonly xid: number,
    private readonly budget: { limitBytes: number; dir: string | undefined; used: { bytes: number } },
    /** Whether the messages carry an xid (streamed format) or not (a non-streamed prepared transaction). */
    readonly streamed: boolean,
  ) {}

  /** Copies the message: the source buffer belongs to the socket parser. */
  add(subxid: number, data: Buffer, start: number, end: number): void {
    const bytes = Buffer.allocUnsafe(end - start);
    data.copy(bytes, 0, start, end);
    this.memory.push({ subxid, bytes });
    this.memoryBytes += bytes.length;
    this.budget.used.bytes += bytes.length;
    this.count++;
    if (this.budget.used.bytes > this.budget.limitBytes) this.spill();
  }

  abortSubtransaction(subxid: number): void {
    this.aborted.add(subxid);
    const before = this.memoryBytes;
    this.memory = this.memory.filter((e) => e.subxid !== subxid);
    this.memoryBytes = this.memory.reduce((n, e) => n + e.bytes.length, 0);
    this.budget.used.bytes -= before - this.memoryBytes;
  }

  get spilled(): boolean {
    return this.spillFd !== null;
  }

  /** Messages in arrival order, minus aborted sub-transactions. Frees everything when done. */
  *replay(): Generator<Buffer> {
    try {
      if (this.spillFd !== null) yield* this.readSpill(this.spillFd);
      for (const e of this.memory) if (!this.aborted.has(e.subxid)) yield e.bytes;
    } finally {
      this.discard();
    }
  }

  discard(): void {
    this.budget.used.bytes -= this.memoryBytes;
    this.memory = [];
    this.memoryBytes = 0;
    if (this.spillFd !== null) closeSync(this.spillFd);
    this.spillFd = null;
    if (this.spillDir !== null) rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }

  /** Reads `[subxid u32][length u32][bytes]` records back in 1 MiB chunks. */
  private *readSpill(fd: number): Generator<Buffer> {
    let chunk = Buffer.alloc(0);
    let pos = 0; // file offset of chunk's end
    let at = 0; // read offset inside chunk
    const need = (n: number) => {
      if (chunk.length - at >= n) return;
      const rest = chunk.subarray(at);
      const next = Buffer.allocUnsafe(Math.max(CHUNK, n));
      rest.copy(next);
      const got = readSync(fd, next, rest.length, next.length - rest.length, pos);
      pos += got;
      chunk = next.subarray(0, rest.length + got);
      at = 0;
      if (chunk.length < n) throw new Error('spill file ended early');
    };
    for (let i = 0; i < this.spilledCount; i++) {
      need(8);
      const subxid = chunk.readUInt32BE(at);
      const len = chunk.readUInt32BE(at + 4);
      at += 8;
      need(len);
      const body = chunk.subarray(at, at + len);
      at += len;
      if (!this.aborted.has(subxid)) yield body;
    }
  }

  /** Moves the in-memory entries to this transaction's spill file. */
  private spill(): void {
    if (this.memory.length === 0) return;
    if (this.spillFd === null) {
      this.spillDir = mkdtempSync(join(this.budget.dir ?? tmpdir(), `walstream-xid${this.xid}-`));
      this.spillFd = openSync(join(this.spillDir, 'changes'), 'w+');
    }
    const parts: Buffer[] = [];
    for (const e of this.memory) {
      const head = Buffer.allocUnsafe(8);
      head.writeUInt32BE(e.subxid, 0);
      head.writeUInt32BE(e.bytes.length, 4);
      parts.push(head, e.bytes);
      this.spilledCount++;
    }
    const data = Buffer.concat(parts);
    for (let off = 0; off < data.length; ) off += writeSync(this.spillFd, data, off);
    this.budget.used.bytes -= this.memoryBytes;
    this.memory = [];
    this.memoryBytes = 0;
  }
}

const CHUNK = 1 << 20;
