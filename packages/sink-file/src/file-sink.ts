/**
 * Appends events to a local file and fsyncs before `write` resolves. On open it reads the last record to
 * learn the last position it holds and cuts a torn tail, so a replay after a crash appends nothing twice.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, truncate } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  type Batch,
  type ChangeEvent,
  comparePositions,
  ErrorCode,
  estimateEventBytes,
  type Position,
  type Sink,
  SinkError,
  WalstreamError,
} from '@walstream/core';
import { type FileSinkOptions, type ResolvedFileSinkOptions, resolveFileSinkOptions } from './options.js';
import { encodeEventRecord, encodeTransactionRecord, readTail } from './records.js';

interface OpenTransaction {
  lsn: bigint;
  transactionId: string;
  timestamp: string;
  events: ChangeEvent[];
  bytes: number;
}

/** What one write appends, and the state the sink takes on once it is synced. */
interface Plan {
  records: (string | Uint8Array)[];
  last: Position | null;
  txn: OpenTransaction | null;
  /** Undoes in-place changes to the held transaction. */
  rollback(): void;
}

const lastEvent = (t: OpenTransaction): ChangeEvent => t.events[t.events.length - 1] as ChangeEvent;

export interface FileSink extends Sink {
  /** The file currently appended to. */
  readonly path: string;
  /** Position of the last event the files hold (after open). */
  readonly lastPosition: Position | null;
}

/** A Sink writing JSON Lines (default) or MessagePack to `options.path`. */
export function createFileSink(options: FileSinkOptions): FileSink {
  return new FileSinkImpl(resolveFileSinkOptions(options), appendAll);
}

/** Appends `data` at the end of the file. A seam for tests that inject disk faults; not exported by the package. */
export type Append = (fh: FileHandle, data: Uint8Array) => Promise<void>;

async function appendAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; ) off += (await fh.write(data, off)).bytesWritten;
}

/** A file sink whose appends go through `append` (tests: fail after N bytes). Not exported by the package. */
export function createFileSinkWithAppend(options: FileSinkOptions, append: Append): FileSink {
  return new FileSinkImpl(resolveFileSinkOptions(options), append);
}

class FileSinkImpl implements FileSink {
  readonly name: string;
  readonly path: string;
  lastPosition: Position | null = null;
  private fh: FileHandle | null = null;
  private size = 0;
  private openedAt = 0;
  private nextRotation = 1;
  private closed = false;
  private txn: OpenTransaction | null = null;

  constructor(
    private readonly o: ResolvedFileSinkOptions,
    private readonly append: Append,
  ) {
    this.name = o.name;
    this.path = o.path;
  }

  async open(): Promise<void> {
    if (this.fh !== null) return;
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const rotated = await this.rotatedFiles();
    this.nextRotation = (rotated.at(-1)?.seq ?? 0) + 1;
    const current = await readIfExists(this.path);
    if (current !== null && current.length > 0) {
      const tail = readTail(this.o.format, this.o.mode, current);
      if (tail.validBytes < current.length) await truncate(this.path, tail.validBytes);
      this.lastPosition = tail.last;
      this.size = tail.validBytes;
    } else {
      const newest = rotated.at(-1);
      if (newest) {
        const content = (await readIfExists(join(dir, newest.file))) ?? Buffer.alloc(0);
        this.lastPosition = readTail(this.o.format, this.o.mode, content).last;
      }
    }
    this.fh = await open(this.path, 'a');
    this.openedAt = Date.now();
    if (this.o.fsync) await syncDir(dir);
  }

  async write(batch: Batch): Promise<void> {
    if (this.closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${this.name} is closed`);
    await this.open();
    await this.rotateIfDue();
    // Plans the records without touching the sink's state: state moves only once the data is synced.
    const plan = this.o.mode === 'events' ? this.eventRecords(batch) : this.transactionRecords(batch);
    if (plan.records.length > 0) {
      const data =
        this.o.format === 'jsonl'
          ? Buffer.from((plan.records as string[]).join(''), 'utf8')
          : Buffer.concat(plan.records as Uint8Array[]);
      try {
        const fh = this.fh as FileHandle;
        await this.append(fh, data);
        if (this.o.fsync) await fh.datasync();
      } catch (err) {
        plan.rollback();
        await this.truncateBack();
        throw new SinkError(`cannot append to ${this.path}`, { cause: err, retriable: true });
      }
      this.size += data.length;
      this.lastPosition = plan.last;
    }
    this.txn = plan.txn;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh?.close();
    this.fh = null;
  }

  /**
   * After a failed append: cut the file back to its last synced size, so no torn or unconfirmed record stays
   * mid-file. If even that fails, drop the handle: the next write re-opens, which re-reads the tail and cuts it.
   */
  private async truncateBack(): Promise<void> {
    const fh = this.fh as FileHandle;
    try {
      await fh.truncate(this.size);
      if (this.o.fsync) await fh.datasync();
    } catch {
      this.fh = null;
      this.lastPosition = null;
      await fh.close().catch(() => undefined);
    }
  }

  private isWritten(e: ChangeEvent): boolean {
    return this.lastPosition !== null && comparePositions(e.position, this.lastPosition) <= 0;
  }

  private eventRecords(batch: Batch): Plan {
    const records: (string | Uint8Array)[] = [];
    let last = this.lastPosition;
    for (const e of batch.events) {
      if (last !== null && comparePositions(e.position, last) <= 0) continue;
      records.push(encodeEventRecord(this.o.format, e));
      last = e.position;
    }
    return { records, last, txn: this.txn, rollback: () => undefined };
  }

  private transactionRecords(batch: Batch): Plan {
    const records: (string | Uint8Array)[] = [];
    let last = this.lastPosition;
    // The held transaction is extended in place (no copy per batch); a failed write rolls it back by length.
    let held = this.txn;
    if (held !== null && held.events.length > 0 && this.isWritten(lastEvent(held))) held = null; // its record reached the file already
    const saved = held && { t: held, length: held.events.length, bytes: held.bytes };
    const rollback = () => {
      if (saved) {
        saved.t.events.length = saved.length;
        saved.t.bytes = saved.bytes;
      }
    };
    let t = held;
    const finish = () => {
      const done = t as OpenTransaction;
      t = null;
      if (done.events.length === 0) return;
      records.push(encodeTransactionRecord(this.o.format, done));
      last = lastEvent(done).position;
    };
    for (const e of batch.events) {
      if (last !== null && comparePositions(e.position, last) <= 0) continue;
      // A replayed or retried batch repeats events the held transaction already has.
      if (t !== null && t.events.length > 0 && comparePositions(e.position, lastEvent(t).position) <= 0) continue;
      if (t !== null && t.lsn !== e.position.lsn) finish();
      if (t === null) {
        t = { lsn: e.position.lsn, transactionId: e.transactionId, timestamp: e.timestamp, events: [], bytes: 0 };
      }
      t.events.push(e);
      t.bytes += estimateEventBytes(e);
      if (t.bytes > this.o.maxTransactionBytes) {
        const lsn = t.lsn;
        rollback();
        throw new SinkError(
          `transaction at LSN ${lsn.toString(16)} exceeds maxTransactionBytes (${this.o.maxTransactionBytes}); raise it or use mode 'events'`,
        );
      }
    }
    // The transaction's end may arrive in this batch or a later one; until then it stays unwritten and
    // unconfirmed (the pipeline confirms a transaction only with the batch that carries its commit).
    if (t !== null && batch.commits.some((c) => c.position.lsn >= (t as OpenTransaction).lsn)) finish();
    return { records, last, txn: t, rollback };
  }

  private async rotateIfDue(): Promise<void> {
    if (this.size === 0) return;
    const bySize = this.size >= this.o.rotateBytes;
    const byTime = Date.now() - this.openedAt >= this.o.rotateIntervalMs;
    if (!bySize && !byTime) return;
    await (this.fh as FileHandle).close();
    this.fh = null;
    const ext = extname(this.path);
    const target = join(
      dirname(this.path),
      `${basename(this.path, ext)}.${String(this.nextRotation++).padStart(6, '0')}${ext}`,
    );
    await rename(this.path, target);
    this.size = 0;
    this.fh = await open(this.path, 'a');
    this.openedAt = Date.now();
    if (this.o.fsync) await syncDir(dirname(this.path));
  }

  /** Rotated siblings `<stem>.<NNNNNN><ext>`, oldest first. */
  private async rotatedFiles(): Promise<{ file: string; seq: number }[]> {
    const ext = extname(this.path);
    const stem = basename(this.path, ext);
    const re = new RegExp(`^${escapeRe(stem)}\\.(\\d{6,})${escapeRe(ext)}$`);
    const out: { file: string; seq: number }[] = [];
    for (const f of await readdir(dirname(this.path))) {
      const m = re.exec(f);
      if (m) out.push({ file: f, seq: Number(m[1]) });
    }
    return out.sort((a, b) => a.seq - b.seq);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** fsync a directory so a created or renamed file survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
