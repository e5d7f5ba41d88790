import { describe, expect, it } from 'vitest';
import { type BackendMessage, BackendParser, SlabPool } from './backend.js';

const msg = (code: string, body: Buffer) => {
  const h = Buffer.alloc(5);
  h[0] = code.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
};

describe('BackendParser', () => {
  const wal = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i & 0xff));
  const err = Buffer.from('SERROR\0C55006\0Mreplication slot is active\0\0');
  const stream = Buffer.concat([
    msg('W', Buffer.alloc(3)),
    msg('d', wal),
    msg('d', Buffer.from('k-small')),
    msg('E', err),
    msg('c', Buffer.alloc(0)),
    msg('Z', Buffer.from('I')),
  ]);

  it.each([1, 3, 4, 5, 7, 4096, 65536, stream.length])(
    'gives the same messages whatever the read size (%i)',
    (size) => {
      const got: BackendMessage[] = [];
      const p = new BackendParser();
      p.emit = (m) => got.push(m);
      // one reused read buffer: feed() copies what it keeps
      const read = Buffer.alloc(size);
      for (let off = 0; off < stream.length; off += size) {
        const n = stream.copy(read, 0, off, off + size);
        p.feed(read.subarray(0, n));
        read.fill(0xee);
      }
      expect(got.map((m) => m.name)).toEqual([
        'copyBothResponse',
        'copyData',
        'copyData',
        'error',
        'copyDone',
        'readyForQuery',
      ]);
      expect((got[1] as { chunk: Buffer }).chunk.equals(wal)).toBe(true);
      expect((got[2] as { chunk: Buffer }).chunk.toString()).toBe('k-small');
      expect(got[3]).toEqual({ name: 'error', code: '55006', message: 'replication slot is active' });
    },
  );

  it('reads into its slabs: messages are views of them, still intact after many more reads', () => {
    const got: Buffer[] = [];
    const p = new BackendParser();
    p.emit = (m) => {
      if (m.name === 'copyData') got.push(m.chunk);
    };
    // 40 messages of 200 kB: several slabs, messages cut at every read boundary
    const one = (i: number) => msg('d', Buffer.alloc(200_000, i));
    const all = Buffer.concat(Array.from({ length: 40 }, (_, i) => one(i)));
    let off = 0;
    let reads = 0;
    while (off < all.length) {
      const into = p.buffer();
      const n = Math.min(into.length, 70_001, all.length - off);
      all.copy(into, 0, off, off + n);
      p.wrote(n);
      off += n;
      reads++;
    }
    expect(reads).toBeGreaterThan(100);
    expect(got.length).toBe(40);
    got.forEach((c, i) => {
      expect(c.length).toBe(200_000);
      expect(c.every((x) => x === i)).toBe(true);
    });
    // consecutive messages share a slab: no copy per message
    expect(got[0]?.buffer).toBe(got[1]?.buffer);
  });

  it('decodes row descriptions and data rows with nulls', () => {
    const t = Buffer.concat([
      Buffer.from([0, 2]),
      Buffer.from('a\0'),
      Buffer.alloc(18),
      Buffer.from('bb\0'),
      Buffer.alloc(18),
    ]);
    const d = Buffer.alloc(2 + 4 + 2 + 4);
    d.writeUInt16BE(2, 0);
    d.writeInt32BE(2, 2);
    d.write('hi', 6);
    d.writeInt32BE(-1, 8);
    const got: BackendMessage[] = [];
    const p = new BackendParser();
    p.emit = (m) => got.push(m);
    p.feed(Buffer.concat([msg('T', t), msg('D', d)]));
    expect(got).toEqual([
      { name: 'rowDescription', fields: [{ name: 'a' }, { name: 'bb' }] },
      { name: 'dataRow', fields: ['hi', null] },
    ]);
  });
});

describe('SlabPool', () => {
  it('gives the parser back the memory it was handed, only whole slabs', () => {
    const pool = new SlabPool();
    const p = new BackendParser(pool);
    const first = p.buffer();
    const slab = p.currentSlab;
    expect(slab.byteLength).toBe(4 << 20);
    pool.give(slab);
    pool.give(new ArrayBuffer(100)); // not a slab: dropped
    // fill the current slab so the next buffer() starts a new one: it is the one given back
    const n = first.length - 1000;
    first[0] = 0x64;
    first.writeUInt32BE(n - 1, 1); // one CopyData message of n bytes in all
    p.wrote(n);
    expect(p.buffer().buffer).toBe(slab);
  });
});

describe('BackendParser with recycleFull', () => {
  it('hands a full slab back at once, so two slabs carry a long stream', () => {
    const p = new BackendParser(new SlabPool(2), true);
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    p.emit = (m) => {
      if (m.name === 'copyData') total += m.chunk.length;
    };
    const one = Buffer.alloc(100_005, 1);
    one[0] = 0x64;
    one.writeUInt32BE(100_004, 1);
    let sent = 0;
    let off = 0;
    while (sent < 400) {
      const into = p.buffer();
      seen.add(into.buffer);
      const n = one.copy(into, 0, off);
      off += n;
      if (off === one.length) {
        off = 0;
        sent++;
      }
      p.wrote(n);
    }
    expect(total).toBe(400 * 100_000);
    expect(seen.size).toBeLessThanOrEqual(2);
  });
});
