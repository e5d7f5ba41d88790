import { describe, expect, it } from 'vitest';
import { HeaderPrefix, HeaderSlab } from './wire-headers.js';

const text = (h: { encode(): Uint8Array }) => Buffer.from(h.encode()).toString('utf8');

describe('wire headers', () => {
  it('writes the NATS/1.0 block nats.js would: fixed headers, then the Msg-Id, then a blank line', () => {
    const prefix = new HeaderPrefix([
      ['Content-Type', ' application/msgpack '],
      ['Content-Encoding', 'zstd'],
    ]);
    const h = new HeaderSlab().block(prefix, 'sys.1:0/16B3748:7');
    expect(text(h)).toBe(
      'NATS/1.0\r\nContent-Type: application/msgpack\r\nContent-Encoding: zstd\r\nNats-Msg-Id: sys.1:0/16B3748:7\r\n\r\n',
    );
  });

  it('keeps every block intact across slabs, with ids of any length and script', () => {
    const prefix = new HeaderPrefix([['Content-Type', 'text/plain; charset=utf-8']]);
    const slab = new HeaderSlab();
    const ids = Array.from({ length: 3000 }, (_, i) => `${'ü'.repeat(i % 50)}:${i}`);
    ids.push('x'.repeat(100_000)); // larger than a slab
    const blocks = ids.map((id) => slab.block(prefix, id));
    blocks.forEach((b, i) => {
      expect(text(b)).toBe(`NATS/1.0\r\nContent-Type: text/plain; charset=utf-8\r\nNats-Msg-Id: ${ids[i]}\r\n\r\n`);
    });
  });

  it('refuses CR or LF in an id, a value or a name, and names outside the token characters', () => {
    const prefix = new HeaderPrefix([['Content-Type', 'a']]);
    expect(() => new HeaderSlab().block(prefix, 'a\r\nX-Evil: 1')).toThrow(/CR or LF/);
    expect(() => new HeaderPrefix([['Content-Type', 'a\nb']])).toThrow(/CR or LF/);
    expect(() => new HeaderPrefix([['Bad Name', 'a']])).toThrow(/invalid NATS header name/);
    expect(() => new HeaderPrefix([['X:Y', 'a']])).toThrow(/invalid NATS header name/);
  });
});
