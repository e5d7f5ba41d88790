/**
 * The recording sinks' files of one scenario, read incrementally: each call parses only the bytes appended since
 * the last one. Re-reading every file in full on every poll made a catch-up quadratic in the deliveries (F30 spent
 * seconds per poll and gigabytes of heap once a soak had a million of them).
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Delivery } from '@walstream/testkit';

interface Tail {
  offset: number;
  /** Bytes after the last newline: an append still under way (kept as bytes: it may end inside a character). */
  partial: Buffer;
}

export class DeliveryLog {
  private readonly tails = new Map<string, Tail>();
  private readonly all: Delivery[] = [];

  constructor(private readonly dir: string) {}

  /** Every delivery so far (files in name order as they grew; within a file in written order). */
  async read(): Promise<readonly Delivery[]> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.jsonl')).sort();
    for (const f of files) await this.readFile(f);
    return this.all;
  }

  private async readFile(name: string): Promise<void> {
    let tail = this.tails.get(name);
    if (tail === undefined) {
      tail = { offset: 0, partial: Buffer.alloc(0) };
      this.tails.set(name, tail);
    }
    const fh = await open(join(this.dir, name), 'r');
    try {
      const size = (await fh.stat()).size;
      // In slices: one string of a whole file could pass V8's string length limit.
      while (tail.offset < size) {
        const buf = Buffer.alloc(Math.min(size - tail.offset, 16 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, tail.offset);
        if (bytesRead === 0) break;
        tail.offset += bytesRead;
        const bytes = Buffer.concat([tail.partial, buf.subarray(0, bytesRead)]);
        const end = bytes.lastIndexOf(0x0a);
        tail.partial = Buffer.from(bytes.subarray(end + 1));
        if (end < 0) continue;
        for (const line of bytes.toString('utf8', 0, end).split('\n')) {
          if (line.length > 0) this.all.push(JSON.parse(line) as Delivery);
        }
      }
    } finally {
      await fh.close();
    }
  }
}
