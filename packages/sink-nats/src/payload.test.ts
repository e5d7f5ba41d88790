import { decodeMsgpackMulti, eventFromJsonObject, fromMsgpackObject } from '@walstream/core';
import { makeEvent } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import { encodeMany, encodeOne } from './payload.js';

describe('batch payloads built from encoded events', () => {
  // Around each MessagePack array-header boundary: fixarray (< 16), array 16 (< 65536), array 32.
  it.each([1, 15, 16, 300, 65535, 65536])('%i events decode back exactly, as MessagePack and as JSON', (n) => {
    const events = Array.from({ length: n }, (_, i) => makeEvent({ lsn: 0x100n, index: i, after: { id: BigInt(i) } }));
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
  });
});
