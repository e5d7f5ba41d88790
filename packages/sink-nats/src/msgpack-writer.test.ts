import { type ChangeEvent, encodeEventMsgpack, RawJson } from '@walstream/core';
import { makeEvent, valueZoo } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import { MsgpackWriter } from './msgpack-writer.js';

const one = (e: ChangeEvent) => {
  const w = new MsgpackWriter();
  w.event(e);
  return w.copy();
};

describe('MsgpackWriter', () => {
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129];
  const more = [-32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, 0.5, -0, Number.NaN, Infinity, 1e300];
  const cases: [string, ChangeEvent][] = [
    ['the value zoo', valueZoo()],
    ['every integer width', makeEvent({ after: Object.fromEntries([...ints, ...more].map((n, i) => [`c${i}`, n])) })],
    ['bigints of both signs', makeEvent({ after: { a: 0n, b: -1n, c: -(2n ** 63n), d: 2n ** 64n - 1n } })],
    [
      'strings of every header size, ASCII and not',
      makeEvent({
        after: Object.fromEntries(
          [0, 31, 32, 255, 256, 65535, 65536].flatMap((n) => [
            [`a${n}`, 'x'.repeat(n)],
            [`u${n}`, 'é'.repeat(n)],
          ]),
        ),
      }),
    ],
    [
      'strings whose first non-ASCII character comes late (the ASCII copy starts over)',
      makeEvent({ after: { a: `${'x'.repeat(20)}€`, b: `${'x'.repeat(100)}é`, c: `${'x'.repeat(254)}😀`, d: 'é' } }),
    ],
    [
      'binaries of every header size',
      makeEvent({ after: { a: new Uint8Array(0), b: new Uint8Array(300), c: new Uint8Array(70_000) } }),
    ],
    [
      'raw JSON of every extension size',
      makeEvent({
        after: Object.fromEntries(
          [0, 1, 2, 3, 4, 8, 16, 17, 300, 70_000].map((n) => [`j${n}`, new RawJson('1'.repeat(n))]),
        ),
      }),
    ],
    [
      'a map of 16+ keys and nested arrays',
      makeEvent({ after: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, [[i], null, []]])) }),
    ],
    [
      'a row of 300 columns (its map header is written after its entries, which move up for a map16 header)',
      makeEvent({ after: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`m${i}`, 's'.repeat(i)])) }),
    ],
    [
      'a row of 70,000 columns (map32)',
      makeEvent({
        after: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i % 3 ? 'v'.repeat(40) : i])),
      }),
    ],
    ['a delete with no after', makeEvent({ operation: 'DELETE', after: null, before: { id: 1 }, key: { id: 1 } })],
    [
      'a truncate',
      makeEvent({ operation: 'TRUNCATE', after: null, key: null, truncate: { cascade: true, restartIdentity: false } }),
    ],
    [
      'a message',
      makeEvent({
        operation: 'MESSAGE',
        after: null,
        key: null,
        message: { prefix: 'p', content: new Uint8Array([1, 2]), transactional: true },
      }),
    ],
    ['a high LSN', makeEvent({ lsn: 0xabcdef0123456789n, index: 70_000 })],
  ];
  it.each(cases)('encodes %s exactly like core', (_, e) => {
    expect(Buffer.from(one(e)).equals(Buffer.from(encodeEventMsgpack(e)))).toBe(true);
  });

  it('leaves undefined fields out and falls back to the generic encoder for unknown objects', () => {
    const e = { ...makeEvent(), truncate: undefined } as unknown as ChangeEvent;
    expect(Buffer.from(one(e)).equals(Buffer.from(encodeEventMsgpack(e)))).toBe(true);
    const d = makeEvent({ after: { when: new Date(0) as never } });
    expect(Buffer.from(one(d)).equals(Buffer.from(encodeEventMsgpack(d)))).toBe(true);
    // An event that is not a plain object (its prototype might enumerate more keys): the generic encoder too.
    class Shaped {}
    const c = Object.assign(new Shaped(), makeEvent()) as unknown as ChangeEvent;
    expect(Buffer.from(one(c)).equals(Buffer.from(encodeEventMsgpack(c)))).toBe(true);
  });

  it('appends events one after the other and grows its buffer', () => {
    const w = new MsgpackWriter();
    const events = Array.from({ length: 500 }, (_, i) =>
      makeEvent({ index: i, after: { id: i, pad: 'p'.repeat(500) } }),
    );
    const sizes = events.map((e) => w.event(e));
    const expected = Buffer.concat(events.map((e) => encodeEventMsgpack(e)));
    expect(Buffer.from(w.copy()).equals(expected)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(expected.length);
  });
});
