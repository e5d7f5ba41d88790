import { RawJson } from '@walstream/core';
import { loadZstd } from '@walstream/sink-nats';
import { describe, expect, it } from 'vitest';
import { decodeInitMessage, encodeChunk, encodeMeta, type InitChunk, type InitMeta } from './payload.js';

const chunk: InitChunk = {
  table: 'public.orders',
  operation: 'snapshot',
  snapshot_id: 'sabc',
  chunk: 3,
  lsn: '0/16B3748',
  data: [
    { id: 1, big: 9007199254740993n, j: new RawJson('{"n": 12345678901234567890}'), b: Uint8Array.of(0, 255), s: null },
  ],
};
const meta: InitMeta = {
  snapshot_id: 'sabc',
  lsn: '0/16B3748',
  timestamp: '2026-01-01T00:00:00.000Z',
  batch_count: 4,
  row_count: 31000,
  table: 'public.orders',
};
const h = (type: string, zstd = false) => ({
  get: (n: string) => (n === 'Content-Type' ? type : n === 'Content-Encoding' && zstd ? 'zstd' : ''),
});

describe('INIT payloads', () => {
  it('MessagePack keeps values exact', async () => {
    const back = await decodeInitMessage<InitChunk>(encodeChunk(chunk, false), h('application/msgpack'));
    expect(back.data[0]?.big).toBe(9007199254740993n);
    expect(String(back.data[0]?.j)).toBe('{"n": 12345678901234567890}');
    expect(back.data[0]?.b).toEqual(Uint8Array.of(0, 255));
    expect({ ...back, data: [] }).toEqual({ ...chunk, data: [] });
    expect(await decodeInitMessage(encodeMeta(meta, false), h('application/msgpack'))).toEqual(meta);
  });

  it('JSON uses the canonical value encoding (int8 as string, bytea as base64, json verbatim)', async () => {
    const text = new TextDecoder().decode(encodeChunk(chunk, true));
    expect(text).toContain(
      '"data":[{"id":1,"big":"9007199254740993","j":{"n": 12345678901234567890},"b":"AP8=","s":null}]',
    );
    const back = await decodeInitMessage<InitChunk>(encodeChunk(chunk, true), h('application/json'));
    expect(back).toMatchObject({ table: 'public.orders', operation: 'snapshot', snapshot_id: 'sabc', chunk: 3 });
    expect(await decodeInitMessage(encodeMeta(meta, true), h('application/json'))).toEqual(meta);
  });

  it('zstd-compressed payloads decode by their Content-Encoding header', async () => {
    const z = await loadZstd();
    const packed = z.compress(encodeMeta(meta, true));
    expect(await decodeInitMessage(packed, h('application/json', true))).toEqual(meta);
  });
});
