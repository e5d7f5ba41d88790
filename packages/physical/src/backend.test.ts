import { describe, expect, it } from 'vitest';
import { type BackendMessage, BackendParser } from './backend.js';

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
      const p = new BackendParser((m) => got.push(m));
      for (let off = 0; off < stream.length; off += size) p.feed(stream.subarray(off, off + size));
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

  it.each([1, 5, 4096, 65536])('lends payloads in borrow mode: the same bytes, valid in the callback (%i)', (size) => {
    const got: Buffer[] = [];
    const p = new BackendParser((m) => m.name === 'copyData' && got.push(Buffer.from(m.chunk)));
    p.borrow = true;
    const read = Buffer.alloc(size);
    for (let off = 0; off < stream.length; off += size) {
      // one reused read buffer, as the tapped socket does
      const n = stream.copy(read, 0, off, off + size);
      p.feed(read.subarray(0, n));
    }
    expect(got.length).toBe(2);
    expect(got[0]?.equals(wal)).toBe(true);
    expect(got[1]?.toString()).toBe('k-small');
  });

  it('gives CopyData payloads their own memory: the socket read can be dropped or reused', () => {
    const got: Buffer[] = [];
    const read = msg('d', Buffer.from('abc'));
    const p = new BackendParser((m) => m.name === 'copyData' && got.push(m.chunk));
    p.feed(read);
    p.feed(msg('d', Buffer.from('def')));
    read.fill(0);
    expect(got.map((b) => b.toString())).toEqual(['abc', 'def']);
    // consecutive payloads share one slab
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
    new BackendParser((m) => got.push(m)).feed(Buffer.concat([msg('T', t), msg('D', d)]));
    expect(got).toEqual([
      { name: 'rowDescription', fields: [{ name: 'a' }, { name: 'bb' }] },
      { name: 'dataRow', fields: ['hi', null] },
    ]);
  });
});
