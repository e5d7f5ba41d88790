import { describe, expect, it } from 'vitest';
import { PGOUTPUT_TYPE_OFFSET, pgMessageTransform, pgoutputType } from './pg-messages.js';

/** A backend message: type byte, int32 length (counting itself), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** CopyData carrying XLogData: 'w', start, end, send time (8 bytes each), then the pgoutput message. */
function xlog(pgoutput: string): Buffer {
  return message('d', Buffer.concat([Buffer.from('w'), Buffer.alloc(24), Buffer.from(pgoutput, 'latin1')]));
}

describe('pgMessageTransform', () => {
  it('hands each whole message to the handler, joining messages split across chunks, per connection', () => {
    const seen: [string, number][] = [];
    const fn = pgMessageTransform({
      message(msg, connection) {
        seen.push([msg.toString('latin1', 5), connection]);
        return msg;
      },
    });
    const a = message('D', Buffer.from('first'));
    const b = message('D', Buffer.from('second'));
    const stream = Buffer.concat([a, b]);
    // Split inside the second message's length field, and interleave another connection.
    const out1 = fn(stream.subarray(0, a.length + 3), 1);
    const other = fn(message('N', Buffer.from('other')), 2);
    const out2 = fn(stream.subarray(a.length + 3), 1);
    expect(Buffer.concat([out1, out2])).toEqual(stream);
    expect(other.toString('latin1', 5)).toBe('other');
    expect(seen).toEqual([
      ['first', 1],
      ['other', 2],
      ['second', 1],
    ]);
  });

  it('forwards what the handler returns: rewritten, held back and released later', () => {
    const held: Buffer[] = [];
    const fn = pgMessageTransform({
      chunk: () => held.splice(0),
      message(msg) {
        if (pgoutputType(msg) === 'C') {
          held.push(msg);
          return null;
        }
        if (pgoutputType(msg) === 'I') msg[PGOUTPUT_TYPE_OFFSET] = 0x5a;
        return msg;
      },
    });
    const insert = xlog('Ixyz');
    const commit = xlog('Cabc');
    const out = fn(Buffer.concat([insert, commit]), 0);
    expect(pgoutputType(out)).toBe('Z');
    expect(out.length).toBe(insert.length);
    const next = fn(message('k', Buffer.alloc(17)), 0);
    expect(pgoutputType(next)).toBe('C');
    expect(next.length).toBe(commit.length + 22);
  });

  it('pgoutputType is null for anything but XLogData', () => {
    expect(pgoutputType(message('d', Buffer.from('k' + '\0'.repeat(30))))).toBeNull();
    expect(pgoutputType(message('Z', Buffer.from('I')))).toBeNull();
    expect(pgoutputType(xlog('B'))).toBe('B');
  });
});
