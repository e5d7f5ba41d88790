import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createPipeline, encodeEventJson, type SinkWriteOptions } from '@walstream/core';
import { batchOf, createArrayReader, describeSinkContract, makeEvent, makeTransactions } from '@walstream/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Append, createFileSink, createFileSinkWithAppend } from './file-sink.js';
import { readEvents } from './records.js';

const opts: SinkWriteOptions = { signal: new AbortController().signal };

/** Appends through a real file handle; when armed, the next append writes only part of its data, then fails. */
function faultyAppend() {
  let armed = false;
  const append: Append = async (fh, data) => {
    if (armed) {
      armed = false;
      // Half of the data reaches the file (a torn record at its end), then the disk reports an error.
      await fh.write(data, 0, Math.max(1, Math.floor(data.length / 2)));
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    }
    for (let off = 0; off < data.length; ) off += (await fh.write(data, off)).bytesWritten;
  };
  const arm = () => {
    armed = true;
  };
  return { append, arm };
}

for (const format of ['jsonl', 'msgpack'] as const) {
  for (const mode of ['events', 'transactions'] as const) {
    describeSinkContract(
      `file ${format} ${mode}`,
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'walstream-file-'));
        const sub = join(dir, 'out');
        const path = join(sub, `changes.${format}`);
        const fault = faultyAppend();
        return {
          sink: createFileSinkWithAppend({ path, format, mode }, fault.append),
          readBack: async () => readEvents(format, mode, await readFile(path)),
          reopen: async () => createFileSink({ path, format, mode }),
          cleanup: () => rm(dir, { recursive: true, force: true }),
          faults: {
            failNextWritePartway: fault.arm,
            // A plain file where the sink's folder should be: mkdir fails until it is removed.
            breakOpen: async () => {
              await writeFile(sub, 'not a directory');
              return () => rm(sub);
            },
          },
        };
      },
      { idempotent: true },
    );
  }
}

describe('file sink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'walstream-file-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes one canonical JSON envelope per line', async () => {
    const path = join(dir, 'out', 'changes.jsonl');
    const sink = createFileSink({ path });
    const e = makeEvent({ lsn: 0x16b3748n, index: 3 });
    await sink.write(batchOf(1, [e]), opts);
    await sink.close?.();
    expect(await readFile(path, 'utf8')).toBe(`${encodeEventJson(e)}\n`);
  });

  it('cuts a torn last line on open and appends after the last whole record', async () => {
    const path = join(dir, 'changes.jsonl');
    const a = makeEvent({ lsn: 0x100n, index: 0 });
    const b = makeEvent({ lsn: 0x100n, index: 1 });
    await writeFile(path, `${encodeEventJson(a)}\n`);
    await appendFile(path, encodeEventJson(b).slice(0, 25)); // crash mid-append
    const sink = createFileSink({ path });
    await sink.open?.({} as never);
    expect(sink.lastPosition).toEqual(a.position);
    await sink.write(batchOf(1, [a, b]), opts);
    await sink.close?.();
    expect(readEvents('jsonl', 'events', await readFile(path)).map((e) => e.id)).toEqual([a.id, b.id]);
  });

  it('cuts a torn MessagePack record too', async () => {
    const path = join(dir, 'changes.msgpack');
    const first = createFileSink({ path, format: 'msgpack' });
    const a = makeEvent({ lsn: 0x100n, index: 0 });
    await first.write(batchOf(1, [a]), opts);
    await first.close?.();
    const whole = await readFile(path);
    await appendFile(path, whole.subarray(0, whole.length - 7));
    const sink = createFileSink({ path, format: 'msgpack' });
    await sink.open?.({} as never);
    expect((await readFile(path)).length).toBe(whole.length);
    expect(sink.lastPosition).toEqual(a.position);
    await sink.close?.();
  });

  it('readEvents gives the whole records of a file that ends in a torn one (read before the sink reopens it)', async () => {
    const a = makeEvent({ lsn: 0x100n, index: 0 });
    const b = makeEvent({ lsn: 0x100n, index: 1 });
    const jsonl = Buffer.from(`${encodeEventJson(a)}\n${encodeEventJson(b).slice(0, 25)}`);
    expect(readEvents('jsonl', 'events', jsonl).map((e) => e.id)).toEqual([a.id]);
    for (const mode of ['events', 'transactions'] as const) {
      const path = join(dir, `torn-${mode}.msgpack`);
      const sink = createFileSink({ path, format: 'msgpack', mode });
      await sink.write(batchOf(1, [a]), opts);
      await sink.close?.();
      const whole = await readFile(path);
      const torn = Buffer.concat([whole, whole.subarray(0, whole.length - 7)]);
      expect(readEvents('msgpack', mode, torn).map((e) => e.id)).toEqual([a.id]);
    }
  });

  it('rotates by size and resumes after the newest rotated file', async () => {
    const path = join(dir, 'changes.jsonl');
    const sink = createFileSink({ path, rotateBytes: 1 }); // every write after the first starts a new file
    for (let t = 0; t < 6; t++) {
      await sink.write(batchOf(t + 1, [makeEvent({ lsn: BigInt(0x100 * (t + 1)), index: 0 })]), opts);
    }
    await sink.close?.();
    const files = (await readdir(dir)).sort();
    expect(files).toEqual([1, 2, 3, 4, 5].map((n) => `changes.00000${n}.jsonl`).concat('changes.jsonl'));
    let all: string[] = [];
    for (const f of [...files.filter((f) => f !== 'changes.jsonl'), 'changes.jsonl']) {
      all = all.concat(readEvents('jsonl', 'events', await readFile(join(dir, f))).map((e) => e.id));
    }
    expect(all).toEqual(['0/100:0', '0/200:0', '0/300:0', '0/400:0', '0/500:0', '0/600:0']);

    // A crash right after a rotation: the current file is empty and the newest rotated file is the guide.
    await writeFile(join(dir, 'changes.000006.jsonl'), await readFile(path));
    await writeFile(path, '');
    const again = createFileSink({ path, rotateBytes: 1 });
    await again.write(batchOf(1, [makeEvent({ lsn: 0x600n, index: 0 }), makeEvent({ lsn: 0x700n, index: 0 })]), opts);
    await again.close?.();
    expect(readEvents('jsonl', 'events', await readFile(path)).map((e) => e.id)).toEqual(['0/700:0']);
  });

  it('rotates by age', async () => {
    const path = join(dir, 'changes.jsonl');
    // Only Date is simulated: file I/O keeps its real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      const sink = createFileSink({ path, rotateIntervalMs: 60_000 });
      await sink.write(batchOf(1, [makeEvent({ lsn: 0x100n })]), opts);
      vi.setSystemTime(new Date('2026-01-01T00:00:59Z'));
      await sink.write(batchOf(2, [makeEvent({ lsn: 0x200n })]), opts); // younger than a minute: same file
      vi.setSystemTime(new Date('2026-01-01T00:01:00Z'));
      await sink.write(batchOf(3, [makeEvent({ lsn: 0x300n })]), opts);
      await sink.close?.();
    } finally {
      vi.useRealTimers();
    }
    expect((await readdir(dir)).sort()).toEqual(['changes.000001.jsonl', 'changes.jsonl']);
    expect(readEvents('jsonl', 'events', await readFile(join(dir, 'changes.000001.jsonl'))).map((e) => e.id)).toEqual([
      '0/100:0',
      '0/200:0',
    ]);
  });

  it('writes one record per transaction, only once the transaction has ended', async () => {
    const path = join(dir, 'tx.jsonl');
    const sink = createFileSink({ path, mode: 'transactions' });
    const t1 = [0, 1, 2].map((i) => makeEvent({ lsn: 0x100n, index: i, transactionId: '7' }));
    // First part of the transaction, no commit yet: nothing is written (and nothing may be confirmed).
    await sink.write({ seq: 1, events: t1.slice(0, 2), commits: [], schemaChanges: [], bytes: 0 }, opts);
    expect(await readFile(path, 'utf8')).toBe('');
    await sink.write(batchOf(2, t1.slice(2)), opts);
    await sink.close?.();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0] as string);
    expect(rec).toMatchObject({ transactionId: '7', lsn: '0/100' });
    expect(rec.events.map((e: { id: string }) => e.id)).toEqual(['0/100:0', '0/100:1', '0/100:2']);
  });

  it('fails clearly when a transaction outgrows maxTransactionBytes', async () => {
    const sink = createFileSink({ path: join(dir, 'tx.jsonl'), mode: 'transactions', maxTransactionBytes: 500 });
    const big = [0, 1, 2, 3, 4].map((i) => makeEvent({ lsn: 0x100n, index: i }));
    await expect(sink.write({ seq: 1, events: big, commits: [], schemaChanges: [], bytes: 0 }, opts)).rejects.toThrow(
      /exceeds maxTransactionBytes/,
    );
    await sink.close?.();
  });

  it('rejects bad options with a ConfigError naming the field', () => {
    expect(() => createFileSink({ path: '' })).toThrow(ConfigError);
    expect(() => createFileSink({ path: 'x', format: 'csv' as 'jsonl' })).toThrow(/file.format/);
    expect(() => createFileSink({ path: 'x', rotateBytes: 0 })).toThrow(/file.rotateBytes/);
  });

  it('rejects writes after close', async () => {
    const sink = createFileSink({ path: join(dir, 'c.jsonl') });
    await sink.close?.();
    await expect(sink.write(batchOf(1, [makeEvent()]), opts)).rejects.toMatchObject({ code: 'SINK_CLOSED' });
  });

  for (const mode of ['events', 'transactions'] as const) {
    it(`a disk error mid-append under a pipeline loses nothing and leaves no torn record (${mode})`, async () => {
      const path = join(dir, 'changes.jsonl');
      const fault = faultyAppend();
      let appends = 0;
      // Every third append fails halfway: transactions span batches (maxEvents 4 < 5 events each).
      const append: Append = async (fh, data) => {
        if (++appends % 3 === 0) fault.arm();
        await fault.append(fh, data);
      };
      const reader = createArrayReader(makeTransactions({ transactions: 12, eventsPerTransaction: 5 }));
      const p = createPipeline({
        name: 'file-faults',
        reader,
        sinks: [createFileSinkWithAppend({ path, mode }, append)],
        batch: { maxEvents: 4, maxWaitMs: 0 },
        retry: { maxAttempts: 10, initialDelayMs: 1, maxDelayMs: 5 },
      });
      await p.start();
      await p.done;
      expect(appends).toBeGreaterThan(3);
      const held = readEvents('jsonl', mode, await readFile(path)).map((e) => e.id);
      const want = makeTransactions({ transactions: 12, eventsPerTransaction: 5 }).flatMap((i) =>
        'kind' in i ? [] : [i.id],
      );
      expect(held).toEqual(want);
    });
  }

  for (const format of ['jsonl', 'msgpack'] as const) {
    it(`when even the cut back fails, the next write re-opens, trims the torn tail and writes the batch whole (${format})`, async () => {
      const path = join(dir, `changes.${format}`);
      let broken = false;
      // Half of the batch reaches the file, then the handle dies: the sink's truncate on it fails too (EBADF).
      const append: Append = async (fh, data) => {
        if (!broken) {
          broken = true;
          await fh.write(data, 0, Math.floor(data.length / 2));
          await fh.close();
          throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        }
        for (let off = 0; off < data.length; ) off += (await fh.write(data, off)).bytesWritten;
      };
      const a = [0, 1].map((i) => makeEvent({ lsn: 0x100n, index: i }));
      const b = [0, 1, 2].map((i) => makeEvent({ lsn: 0x200n, index: i }));
      const first = createFileSink({ path, format });
      await first.write(batchOf(1, a), opts);
      await first.close?.();
      const sink = createFileSinkWithAppend({ path, format }, append);
      await expect(sink.write(batchOf(2, b), opts)).rejects.toMatchObject({ code: 'SINK', retriable: true });
      await sink.write(batchOf(2, b), opts);
      await sink.close?.();
      expect(readEvents(format, 'events', await readFile(path)).map((e) => e.id)).toEqual(
        [...a, ...b].map((e) => e.id),
      );
    });
  }

  it('runs under a pipeline and a restart appends nothing twice', async () => {
    const path = join(dir, 'changes.jsonl');
    const items = makeTransactions({ transactions: 20, eventsPerTransaction: 5 });
    const run = async (from: number) => {
      const p = createPipeline({
        name: 'file',
        reader: createArrayReader(items.slice(from)),
        sinks: [createFileSink({ path })],
        batch: { maxEvents: 7, maxWaitMs: 0 },
      });
      await p.start();
      await p.done;
    };
    await run(0);
    await run(37); // replay from the middle of transaction 7, as after a crash
    const ids = readEvents('jsonl', 'events', await readFile(path)).map((e) => e.id);
    expect(ids).toHaveLength(100);
    expect(new Set(ids).size).toBe(100);
  });
});
