import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Batch, type ChangeEvent, ConfigError, Operation, positionId } from '@walstream/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWalArchiveSink } from './archive.js';
import { WalGapError } from './errors.js';
import { segmentName, type WalChunk } from './wal.js';

// A small segment size keeps the files small; the sink takes it from the chunks.
const SEG = 1024 * 1024;

function chunk(timeline: number, start: bigint, bytes: Uint8Array, walKind: 'wal' | 'history' = 'wal'): WalChunk {
  const position = { lsn: start + BigInt(walKind === 'wal' ? bytes.length : 0), index: walKind === 'wal' ? 0 : 1 };
  return {
    id: positionId(position),
    position,
    operation: Operation.Message,
    timestamp: new Date().toISOString(),
    transactionId: '',
    database: '',
    schema: '',
    table: '',
    key: null,
    before: null,
    after: null,
    unchanged: [],
    walKind,
    timeline,
    startLsn: start,
    bytes,
    walSegmentSize: SEG,
    systemId: '42',
  };
}

let seq = 0;
function batch(...events: ChangeEvent[]): Batch {
  return { seq: ++seq, events, commits: [], schemaChanges: [], bytes: 0 };
}
const signal = new AbortController().signal;

function fill(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** The archive's WAL files, without the next segment being prepared in the background. */
async function wal(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => !f.endsWith('.prealloc')).sort();
}

describe('WAL archive sink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'walstream-archive-unit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes .partial while open and renames the complete segment', async () => {
    const sink = createWalArchiveSink({ dir });
    await sink.open?.({ pipeline: 't', logger: undefined as never, signal });
    const base = 5n * BigInt(SEG);
    const a = fill(SEG - 100, 1);
    await sink.write(batch(chunk(1, base, a)), { signal });
    expect(await wal(dir)).toEqual([`${segmentName(1, 5n, SEG)}.partial`]);
    const b = fill(300, 2);
    await sink.write(batch(chunk(1, base + BigInt(a.length), b)), { signal });
    expect(await wal(dir)).toEqual([segmentName(1, 5n, SEG), `${segmentName(1, 6n, SEG)}.partial`]);
    const full = await readFile(join(dir, segmentName(1, 5n, SEG)));
    expect(full.equals(Buffer.concat([a, b.subarray(0, 100)]))).toBe(true);
    const partial = await readFile(join(dir, `${segmentName(1, 6n, SEG)}.partial`));
    expect(partial.length).toBe(SEG);
    expect(partial.subarray(0, 200).equals(b.subarray(100))).toBe(true);
    await sink.close?.();
  });

  it('prepares the next segment zero-filled and uses it; a leftover one never counts and is removed', async () => {
    const sink = createWalArchiveSink({ dir });
    await sink.open?.({ pipeline: 't', logger: undefined as never, signal });
    const a = fill(SEG / 2, 4);
    await sink.write(batch(chunk(1, 0n, a)), { signal });
    const next = `${segmentName(1, 1n, SEG)}.prealloc`;
    const size = async () => (await stat(join(dir, next)).catch(() => null))?.size ?? -1;
    for (let i = 0; i < 500 && (await size()) !== SEG; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100)); // its close
    const prepared = await readFile(join(dir, next));
    expect(prepared.length).toBe(SEG);
    expect(prepared.every((x) => x === 0)).toBe(true);
    // the rest of segment 0 and the start of segment 1: segment 1 is the prepared file, renamed
    const b = fill(SEG / 2 + 100, 5);
    b.fill(0, SEG / 2, SEG / 2 + 40); // no long page header: the owner check (system id) has nothing to compare
    await sink.write(batch(chunk(1, BigInt(a.length), b)), { signal });
    expect(await wal(dir)).toEqual([segmentName(1, 0n, SEG), `${segmentName(1, 1n, SEG)}.partial`]);
    const partial = await readFile(join(dir, `${segmentName(1, 1n, SEG)}.partial`));
    expect(partial.length).toBe(SEG);
    expect(partial.subarray(0, 100).equals(b.subarray(SEG / 2))).toBe(true);
    expect(partial.subarray(100).every((x) => x === 0)).toBe(true);
    await sink.close?.();
    expect((await readdir(dir)).filter((f) => f.endsWith('.prealloc'))).toEqual([]);

    // A crash leaves a prepared file behind: the next open removes it, and the archive still ends in segment 1.
    await writeFile(join(dir, `${segmentName(1, 7n, SEG)}.prealloc`), Buffer.alloc(SEG));
    const again = createWalArchiveSink({ dir });
    await again.open?.({ pipeline: 't', logger: undefined as never, signal });
    expect((await readdir(dir)).filter((f) => f.endsWith('.prealloc'))).toEqual([]);
    await expect(again.write(batch(chunk(1, 3n * BigInt(SEG), fill(10, 0))), { signal })).rejects.toBeInstanceOf(
      WalGapError,
    );
    await again.close?.();
  });

  it('rejects a gap, and a stream that starts mid-segment on an empty archive', async () => {
    const sink = createWalArchiveSink({ dir });
    await sink.open?.({ pipeline: 't', logger: undefined as never, signal });
    await expect(sink.write(batch(chunk(1, 10n, fill(10, 0))), { signal })).rejects.toBeInstanceOf(WalGapError);
    await sink.write(batch(chunk(1, 0n, fill(1000, 0))), { signal });
    await expect(sink.write(batch(chunk(1, 2000n, fill(10, 0))), { signal })).rejects.toThrow(/WAL gap on timeline 1/);
    await sink.close?.();
  });

  it('resumes from the start of its .partial segment after a restart, skipping complete segments', async () => {
    const s1 = createWalArchiveSink({ dir });
    await s1.open?.({ pipeline: 't', logger: undefined as never, signal });
    const data = fill(SEG + 5000, 3);
    await s1.write(batch(chunk(1, 0n, data)), { signal });
    // no close: a crash
    const s2 = createWalArchiveSink({ dir });
    await s2.open?.({ pipeline: 't', logger: undefined as never, signal });
    // Past the .partial's segment start is a gap (its valid length is unknown after a crash).
    await expect(s2.write(batch(chunk(1, BigInt(SEG) + 6000n, fill(10, 0))), { signal })).rejects.toBeInstanceOf(
      WalGapError,
    );
    const s3 = createWalArchiveSink({ dir });
    await s3.open?.({ pipeline: 't', logger: undefined as never, signal });
    const more = fill(SEG, 4);
    const all = Buffer.concat([data, more]);
    // The reader restarts from an earlier point: bytes of the complete segment are skipped, the rest rewritten.
    await s3.write(batch(chunk(1, 1000n, all.subarray(1000))), { signal });
    const seg1 = await readFile(join(dir, segmentName(1, 1n, SEG)));
    expect(seg1.equals(all.subarray(SEG, 2 * SEG))).toBe(true);
    await s3.close?.();
  });

  it('writes timeline history files and starts a new timeline at a segment boundary', async () => {
    const sink = createWalArchiveSink({ dir, compression: 'gzip', compressionLevel: 1 });
    await sink.open?.({ pipeline: 't', logger: undefined as never, signal });
    await sink.write(batch(chunk(1, 0n, fill(SEG + 10, 5))), { signal });
    const hist = Buffer.from('1\t0/100000A\tno recovery target specified\n');
    await sink.write(batch(chunk(2, BigInt(SEG) + 10n, hist, 'history'), chunk(2, BigInt(SEG), fill(SEG, 6))), {
      signal,
    });
    const files = await wal(dir);
    expect(files).toEqual([
      `${segmentName(1, 0n, SEG)}.gz`,
      `${segmentName(1, 1n, SEG)}.partial`,
      '00000002.history',
      `${segmentName(2, 1n, SEG)}.gz`,
    ]);
    expect(await readFile(join(dir, '00000002.history'), 'utf8')).toBe(hist.toString());
    await sink.close?.();
  });

  it('refuses to continue a gzip archive of another server', async () => {
    const page = Buffer.alloc(SEG);
    page.writeUInt16LE(0xd118, 0); // magic
    page.writeUInt16LE(0x0002, 2); // XLP_LONG_HEADER
    page.writeBigUInt64LE(42n, 24); // system identifier
    page.writeUInt32LE(SEG, 32);
    // Server 42's archive holds only compressed segments.
    await writeFile(join(dir, `${segmentName(1, 0n, SEG)}.gz`), gzipSync(page));
    const sink = createWalArchiveSink({ dir, compression: 'gzip' });
    await sink.open?.({ pipeline: 't', logger: undefined as never, signal });
    const foreign = { ...chunk(1, BigInt(SEG), fill(4096, 1)), systemId: '43' };
    await expect(sink.write(batch(foreign), { signal })).rejects.toThrow(/another server \(system identifier 42/);
    await sink.close?.();
  });

  it('refuses to continue an archive of another server', async () => {
    const s1 = createWalArchiveSink({ dir });
    await s1.open?.({ pipeline: 't', logger: undefined as never, signal });
    const page = Buffer.alloc(8192);
    page.writeUInt16LE(0xd118, 0); // magic
    page.writeUInt16LE(0x0002, 2); // XLP_LONG_HEADER
    page.writeBigUInt64LE(42n, 24); // system identifier
    page.writeUInt32LE(SEG, 32);
    await s1.write(batch(chunk(1, 0n, page)), { signal });
    await s1.close?.();
    const s2 = createWalArchiveSink({ dir });
    await s2.open?.({ pipeline: 't', logger: undefined as never, signal });
    const foreign = { ...chunk(1, 0n, page), systemId: '43' };
    await expect(s2.write(batch(foreign), { signal })).rejects.toThrow(/another server \(system identifier 42/);
    const s3 = createWalArchiveSink({ dir });
    await s3.open?.({ pipeline: 't', logger: undefined as never, signal });
    await s3.write(batch(chunk(1, 0n, page)), { signal });
    await s3.close?.();
  });

  it('validates its options', () => {
    expect(() => createWalArchiveSink({ dir: '' })).toThrow(ConfigError);
    expect(() => createWalArchiveSink({ dir, compression: 'zstd' as never })).toThrow(/compression/);
    expect(() => createWalArchiveSink({ dir, compressionLevel: 0 })).toThrow(/compressionLevel/);
  });
});
