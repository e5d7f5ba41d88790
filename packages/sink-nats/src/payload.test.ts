import { decodeMsgpackMulti, eventFromJsonObject, fromMsgpackObject } from '@walstream/core';
import { makeEvent } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import { createEventEncoder, encodeMany, encodeOne, MsgpackPacker } from './payload.js';

describe('batch payloads built from encoded events', () => {
  // Around each MessagePack array-header boundary: fixarray (< 16), array 16 (< 65536), array 32.
  it.each([1, 15, 16, 300, 65535, 65536])(
    '%i events decode back exactly, as MessagePack and as JSON',
    (n) => {
      const events = Array.from({ length: n }, (_, i) =>
        makeEvent({ lsn: 0x100n, index: i, after: { id: BigInt(i) } }),
      );
      const [packed] = decodeMsgpackMulti(
        encodeMany(
          events.map((e) => encodeOne(e, false)),
          false,
        ),
      );
      expect((packed as unknown[]).map(fromMsgpackObject)).toEqual(events);
      const json = JSON.parse(
        new TextDecoder().decode(
          encodeMany(
            events.map((e) => encodeOne(e, true)),
            true,
          ),
        ),
      );
      expect(json.map(eventFromJsonObject).map((e: { id: string }) => e.id)).toEqual(events.map((e) => e.id));
    },
    60_000,
  ); // 65536 events take seconds on a loaded machine
});

describe('MsgpackPacker', () => {
  it('cuts before the event that does not fit and carries it into the next payload', () => {
    const events = Array.from({ length: 40 }, (_, i) =>
      makeEvent({ lsn: 0x100n, index: i, after: { id: BigInt(i), pad: 'p'.repeat(i * 7) } }),
    );
    const pk = new MsgpackPacker();
    const payloads: Uint8Array[] = [];
    pk.start();
    for (const e of events) {
      const mark = pk.mark;
      pk.add(e);
      if (pk.count > 1 && (pk.count > 16 || pk.bytes > 2000)) payloads.push(pk.cutBefore(mark));
    }
    payloads.push(pk.finish());
    const back = payloads.map((p) => (decodeMsgpackMulti(p)[0] as unknown[]).map(fromMsgpackObject));
    expect(back.flat()).toEqual(events);
    expect(payloads.length).toBeGreaterThan(2);
    for (const [i, p] of payloads.entries()) {
      expect(back[i]?.length).toBeLessThanOrEqual(16);
      // Each payload is exactly core's encoding of its events, one array.
      expect(
        Buffer.from(p).equals(
          Buffer.from(
            encodeMany(
              (back[i] ?? []).map((e) => encodeOne(e, false)),
              false,
            ),
          ),
        ),
      ).toBe(true);
    }
  });
});

describe('the event encoder', () => {
  it('hands out payloads that stay intact while later events are encoded, across slabs and past a slab', () => {
    const encode = createEventEncoder();
    const events = Array.from({ length: 2000 }, (_, i) =>
      makeEvent({
        lsn: 0x100n + BigInt(i),
        index: i,
        after: { id: BigInt(i), note: 'ü'.repeat(i === 999 ? 70_000 : i % 300) },
      }),
    );
    const payloads = events.map(encode);
    payloads.forEach((p, i) => {
      expect(fromMsgpackObject(decodeMsgpackMulti(p)[0])).toEqual(events[i]);
    });
  });
});
