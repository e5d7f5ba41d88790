/**
 * The WAL archive sink: writes WalChunks into segment files named as Postgres names them. The segment being
 * filled is `<name>.partial`; when its last byte arrives it is fsynced, (optionally compressed,) renamed to
 * its final name and the directory fsynced. Every write() fsyncs the open segment before it resolves, so the
 * pipeline confirms to the slot only WAL that is on disk.
 *
 * The file calls are synchronous, as pg_receivewal's are. Each async fs call is a round trip through libuv's
 * thread pool; a segment took about 14 of them, and on a loaded machine those wake-ups, not the disk, bounded
 * the archive (bench/physical-profile.mjs measured 4.2 s of a 4.3 s run inside sink writes whose disk work
 * is ~20 ms per 16 MiB). Blocking the loop for one batch's writev + fsync stalls the socket the way
 * pg_receivewal's blocking write does: the server waits, nothing is lost.
 */
import { closeSync, createReadStream, fsyncSync, ftruncateSync, openSync, renameSync, writevSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { type Batch, ConfigError, formatLsn, type Sink } from '@walstream/core';
import { WalArchiveError, WalGapError } from './errors.js';
import { PREALLOC_SUFFIX, SegmentPreallocator } from './prealloc.js';
import { historyName, isWalChunk, parseSegmentName, segmentName, type WalChunk } from './wal.js';

const gzipAsync = promisify(gzip);

export interface WalArchiveSinkOptions {
  /** Directory of the archive; created when missing. One archive per server (system identifier). */
  dir: string;
  /** Compress completed segments (`<name>.gz`). The open `.partial` segment stays uncompressed. @default 'none' */
  compression?: 'none' | 'gzip';
  /** gzip level 1-9. @default 6 */
  compressionLevel?: number;
  /** Sink name in pipeline status. @default 'wal-archive' */
  name?: string;
}

export interface WalArchiveSink extends Sink {
  /** End of the WAL the archive holds durably, per timeline (after open and writes). */
  archivedEnd(): ReadonlyMap<number, bigint>;
}

export function createWalArchiveSink(options: WalArchiveSinkOptions): WalArchiveSink {
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new ConfigError('dir', 'a directory path is required');
  }
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new ConfigError('compression', `expected 'none' or 'gzip', got ${JSON.stringify(compression)}`);
  }
  const level = options.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new ConfigError('compressionLevel', 'expected 1-9');
  return new WalArchive(options.dir, compression, level, options.name ?? 'wal-archive');
}

interface OpenSegment {
  name: string;
  timeline: number;
  segno: bigint;
  /** File descriptor of the `.partial` file. */
  fd: number;
  dirty: boolean;
}

class WalArchive implements WalArchiveSink {
  private segSize = 0;
  private systemId: string | null = null;
  /** Final names (without .gz) of complete segments. */
  private readonly complete = new Set<string>();
  /** Names (without suffix) of segments with a .partial file. */
  private readonly partial = new Set<string>();
  private readonly histories = new Set<number>();
  /** Per timeline: the LSN up to which the archive holds every byte (no gap before it). */
  private readonly ends = new Map<number, bigint>();
  private scanned: string[] = [];
  private current: OpenSegment | null = null;
  private prealloc: SegmentPreallocator | null = null;
  /** Bytes waiting to be written to the open segment in one piece. */
  private run: { seg: OpenSegment; pos: number; bufs: Uint8Array[]; len: number } | null = null;

  constructor(
    private readonly dir: string,
    private readonly compression: 'none' | 'gzip',
    private readonly level: number,
    readonly name: string,
  ) {}

  archivedEnd(): ReadonlyMap<number, bigint> {
    return this.ends;
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      for (const f of await readdir(this.dir)) {
        // A crash between writing a temporary file and its rename leaves it behind: it never counted.
        if (f.endsWith('.tmp') || f.endsWith(PREALLOC_SUFFIX)) await rm(join(this.dir, f), { force: true });
        else this.scanned.push(f);
      }
    } catch (err) {
      throw new WalArchiveError(`cannot open the WAL archive directory ${this.dir}`, err, true);
    }
    // Found now, not at the first segment: the pipeline opens its sinks before the reader creates the slot, so an
    // archive that cannot be written leaves no slot behind holding WAL on the server. (A `.tmp` file: one a crash
    // leaves is removed by the next open.)
    const probe = join(this.dir, `.walstream-probe-${process.pid}.tmp`);
    try {
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new WalArchiveError(`cannot write the WAL archive directory ${this.dir} (${code})`, err, false);
    }
    for (const f of this.scanned) {
      const h = /^([0-9A-F]{8})\.history$/.exec(f);
      if (h) this.histories.add(Number.parseInt(h[1] as string, 16));
    }
  }

  async write(batch: Batch): Promise<void> {
    try {
      for (const e of batch.events) {
        if (!isWalChunk(e)) continue;
        await this.init(e);
        if (e.walKind === 'history') await this.writeHistory(e);
        else await this.writeWal(e);
      }
      await this.flushRun();
      const c = this.current;
      if (c?.dirty) {
        fsyncSync(c.fd);
        c.dirty = false;
      }
    } catch (err) {
      this.run = null; // the pipeline writes the batch again (or fails): nothing of it counts
      if (err instanceof WalGapError || err instanceof WalArchiveError) throw err;
      throw new WalArchiveError(`writing the WAL archive ${this.dir} failed`, err, true);
    }
  }

  async close(): Promise<void> {
    await this.flushRun();
    await this.prealloc?.discard();
    const c = this.current;
    this.current = null;
    if (c) {
      if (c.dirty) fsyncSync(c.fd);
      closeSync(c.fd);
    }
  }

  /** The first chunk tells the segment size: then the scanned names can be read. */
  private async init(e: WalChunk): Promise<void> {
    if (this.segSize !== 0) {
      if (e.walSegmentSize !== this.segSize || (this.systemId !== '' && e.systemId !== this.systemId)) {
        throw new WalArchiveError('the stream comes from another server or segment size than the archive');
      }
      return;
    }
    this.segSize = e.walSegmentSize;
    this.systemId = e.systemId;
    this.prealloc = new SegmentPreallocator(this.dir, this.segSize);
    const size = BigInt(this.segSize);
    for (const f of this.scanned) {
      const base = f.replace(/\.gz$/, '').replace(/\.partial$/, '');
      const seg = parseSegmentName(base, this.segSize);
      if (!seg) continue;
      if (f.endsWith('.partial')) this.partial.add(base);
      else this.complete.add(base);
      const end = f.endsWith('.partial') ? seg.segno * size : (seg.segno + 1n) * size;
      if (end > (this.ends.get(seg.timeline) ?? -1n)) this.ends.set(seg.timeline, end);
    }
    for (const base of [...this.partial]) {
      // Crash after the rename (or compression) and before the .partial was removed: the segment is complete.
      if (this.complete.has(base)) {
        await rm(join(this.dir, `${base}.partial`), { force: true });
        this.partial.delete(base);
      }
    }
    // Compressed segments too: an archive of gzip files is checked like a plain one (by its decompressed first page).
    const sample = this.scanned
      .filter((f) => /^[0-9A-F]{24}(\.partial)?(\.gz)?$/.test(f))
      .sort((a, b) => (a.replace(/\.gz$/, '') < b.replace(/\.gz$/, '') ? -1 : 1));
    this.scanned = [];
    const last = sample[sample.length - 1];
    if (last !== undefined) await this.checkOwner(last, e);
  }

  /** The first page of a segment carries the server's system identifier and segment size: refuse a foreign archive. */
  private async checkOwner(file: string, e: WalChunk): Promise<void> {
    const head = await (file.endsWith('.gz') ? gzipHead : fileHead)(join(this.dir, file), 40);
    if (head.length < 40) return;
    const XLP_LONG_HEADER = 0x0002;
    if ((head.readUInt16LE(2) & XLP_LONG_HEADER) === 0) return;
    const sysid = head.readBigUInt64LE(24).toString();
    const segSize = head.readUInt32LE(32);
    if ((e.systemId !== '' && sysid !== e.systemId) || segSize !== e.walSegmentSize) {
      throw new WalArchiveError(
        `the archive ${this.dir} holds WAL of another server (system identifier ${sysid}, segment size ${segSize}); the stream is from ${e.systemId} with ${e.walSegmentSize}`,
      );
    }
  }

  private async writeHistory(e: WalChunk): Promise<void> {
    if (this.histories.has(e.timeline)) return;
    await this.atomicWrite(historyName(e.timeline), e.bytes);
    this.histories.add(e.timeline);
  }

  private checkGap(e: WalChunk): void {
    const size = BigInt(this.segSize);
    const end = this.ends.get(e.timeline);
    if (end !== undefined) {
      if (e.startLsn > end) {
        throw new WalGapError(
          `WAL gap on timeline ${e.timeline}: the archive ends at ${formatLsn(end)} but the stream continues at ${formatLsn(e.startLsn)}`,
        );
      }
      return;
    }
    // A timeline new to the archive: it must start at a segment boundary, where an older timeline reaches.
    if (e.startLsn % size !== 0n) {
      throw new WalGapError(
        `timeline ${e.timeline} starts at ${formatLsn(e.startLsn)} in the middle of a segment; the archive needs whole segments`,
      );
    }
    let older: bigint | undefined;
    for (const [tli, lsn] of this.ends) if (tli < e.timeline && (older === undefined || lsn > older)) older = lsn;
    if (older !== undefined && e.startLsn > older) {
      throw new WalGapError(
        `WAL gap: the archive ends at ${formatLsn(older)} but timeline ${e.timeline} starts at ${formatLsn(e.startLsn)}`,
      );
    }
  }

  private async writeWal(e: WalChunk): Promise<void> {
    this.checkGap(e);
    const size = BigInt(this.segSize);
    let lsn = e.startLsn;
    let off = 0;
    const total = e.bytes.length;
    while (off < total) {
      const segno = lsn / size;
      const inSeg = Number(lsn % size);
      const n = Math.min(total - off, this.segSize - inSeg);
      const name = segmentName(e.timeline, segno, this.segSize);
      if (!this.complete.has(name)) {
        // Contiguous pieces of one segment are written together: one write per segment and batch.
        const r = this.run;
        if (r && (r.seg.name !== name || r.pos + r.len !== inSeg)) await this.flushRun();
        const seg = await this.segment(e.timeline, segno, name);
        if (this.run === null) this.run = { seg, pos: inSeg, bufs: [], len: 0 };
        this.run.bufs.push(e.bytes.subarray(off, off + n));
        this.run.len += n;
        if (inSeg + n === this.segSize) {
          await this.flushRun();
          await this.finish(seg);
        }
      }
      off += n;
      lsn += BigInt(n);
      if (lsn > (this.ends.get(e.timeline) ?? -1n)) this.ends.set(e.timeline, lsn);
    }
  }

  private async flushRun(): Promise<void> {
    const r = this.run;
    if (r === null) return;
    this.run = null;
    writeAll(r.seg.fd, r.bufs, r.len, r.pos);
    r.seg.dirty = true;
  }

  private async segment(timeline: number, segno: bigint, name: string): Promise<OpenSegment> {
    const c = this.current;
    if (c && c.name === name) return c;
    if (c) {
      // Left incomplete (a timeline switch): it stays .partial, as pg_receivewal leaves it.
      this.current = null;
      if (c.dirty) fsyncSync(c.fd);
      closeSync(c.fd);
    }
    const path = join(this.dir, `${name}.partial`);
    let fd: number;
    if (this.partial.has(name)) {
      fd = openSync(path, 'r+');
    } else {
      if (this.prealloc?.take(name, path)) {
        fd = openSync(path, 'r+');
      } else {
        fd = openSync(path, 'w+');
        ftruncateSync(fd, this.segSize);
        fsyncSync(fd);
      }
      this.syncDir();
      this.partial.add(name);
    }
    this.current = { name, timeline, segno, fd, dirty: false };
    this.prealloc?.prepare(segmentName(timeline, segno + 1n, this.segSize));
    return this.current;
  }

  private async finish(seg: OpenSegment): Promise<void> {
    this.current = null;
    fsyncSync(seg.fd);
    const partialPath = join(this.dir, `${seg.name}.partial`);
    if (this.compression === 'gzip') {
      const raw = await readFile(partialPath);
      closeSync(seg.fd);
      const gz = await gzipAsync(raw, { level: this.level });
      await this.atomicWrite(`${seg.name}.gz`, gz);
      await rm(partialPath, { force: true });
    } else {
      closeSync(seg.fd);
      renameSync(partialPath, join(this.dir, seg.name));
      this.syncDir();
    }
    this.partial.delete(seg.name);
    this.complete.add(seg.name);
  }

  private async atomicWrite(name: string, data: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `${name}.tmp`);
    await writeFile(tmp, data);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    renameSync(tmp, join(this.dir, name));
    this.syncDir();
  }

  private syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** One writev per run of a segment (the chunks stay where the socket put them); short writes are continued. */
function writeAll(fd: number, bufs: Uint8Array[], len: number, pos: number): void {
  let rest = bufs;
  let left = len;
  let at = pos;
  for (;;) {
    const bytesWritten = writevSync(fd, rest, at);
    left -= bytesWritten;
    at += bytesWritten;
    if (left <= 0) return;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** The first `n` bytes of a file (fewer if it is shorter). */
async function fileHead(path: string, n: number): Promise<Buffer> {
  const head = Buffer.alloc(n);
  const fh = await open(path, 'r');
  try {
    const { bytesRead } = await fh.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The first `n` bytes of a gzip file's content (fewer if it is shorter), without inflating the rest. */
async function gzipHead(path: string, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  const gunzip = createReadStream(path).pipe(createGunzip());
  try {
    for await (const c of gunzip) {
      parts.push(c as Buffer);
      have += (c as Buffer).length;
      if (have >= n) break;
    }
  } catch {
    // A damaged file tells nothing of its server; the segment checks elsewhere deal with it.
  } finally {
    gunzip.destroy();
  }
  return Buffer.concat(parts).subarray(0, n);
}
