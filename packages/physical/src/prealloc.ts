/**
 * The next WAL segment file, zero-filled ahead of time on the thread pool, as pg_receivewal pads a new segment
 * before writing it (not fsynced: the point is that its pages exist; the archive fsyncs the segment's data). Writing WAL into a fresh (sparse) file makes the kernel allocate every page
 * and block inside the write call, which blocked the event loop for ~70 ms per 16 MiB; overwriting a padded
 * file costs ~8 ms (measured on the bench machine). The file is `<segment>.prealloc` until the archive needs
 * it and renames it to `<segment>.partial`; a leftover one never counts as WAL and is removed on open.
 */
import { renameSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const ZEROS = Buffer.alloc(1 << 20);

export const PREALLOC_SUFFIX = '.prealloc';

export class SegmentPreallocator {
  private pending: { name: string; path: string; ready: Promise<boolean>; done: boolean } | null = null;

  constructor(
    private readonly dir: string,
    private readonly size: number,
  ) {}

  /** Starts preparing the segment `name` (dropping another one still prepared). */
  prepare(name: string): void {
    if (this.pending?.name === name) return;
    void this.discard();
    const path = join(this.dir, `${name}${PREALLOC_SUFFIX}`);
    // A failure (disk full) only means the segment is created the plain way later, which reports it.
    const pending = { name, path, ready: Promise.resolve(false), done: false };
    pending.ready = fill(path, this.size).then(
      () => {
        pending.done = true;
        return true;
      },
      () => false,
    );
    this.pending = pending;
  }

  /**
   * Renames the prepared file of `name` to `target`; false when none is ready for that name. Never waits: a
   * file still being filled (a slow disk) is dropped and the segment created the plain way.
   */
  take(name: string, target: string): boolean {
    const p = this.pending;
    if (p === null || p.name !== name) return false;
    if (!p.done) {
      void this.discard();
      return false;
    }
    this.pending = null;
    renameSync(p.path, target);
    return true;
  }

  async discard(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    await p.ready;
    await rm(p.path, { force: true });
  }
}

async function fill(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    // One writev of the same zero buffer repeated: a single thread-pool request per segment.
    const bufs: Buffer[] = [];
    for (let left = size; left > 0; left -= ZEROS.length)
      bufs.push(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
    let done = 0;
    while (done < size) {
      const { bytesWritten } = await fh.writev(
        done === 0 ? bufs : [ZEROS.subarray(0, Math.min(ZEROS.length, size - done))],
        done,
      );
      done += bytesWritten;
    }
  } finally {
    await fh.close();
  }
}
