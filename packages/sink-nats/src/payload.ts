/** Message payloads: one event or a packed batch, canonical JSON or MessagePack, optionally zstd. */
import { type ChangeEvent, encodeEventJson, encodeEventMsgpack } from '@walstream/core';

export type Compressor = (data: Uint8Array) => Uint8Array;

const utf8 = new TextEncoder();

export function encodeOne(e: ChangeEvent, json: boolean): Uint8Array {
  return json ? utf8.encode(encodeEventJson(e)) : encodeEventMsgpack(e);
}

/**
 * A batch payload from events already encoded by `encodeOne` (each is encoded once, also to measure it):
 * a JSON array of the texts, or a MessagePack array header followed by the maps.
 */
export function encodeMany(encoded: readonly Uint8Array[], json: boolean): Uint8Array {
  const n = encoded.length;
  let head: Uint8Array;
  if (json) head = utf8.encode('[');
  else if (n < 16)
    head = Uint8Array.of(0x90 | n); // fixarray
  else if (n < 0x10000)
    head = Uint8Array.of(0xdc, n >>> 8, n & 0xff); // array 16
  else head = Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff); // array 32
  const total = head.length + encoded.reduce((t, e) => t + e.length, 0) + (json ? Math.max(n - 1, 0) + 1 : 0);
  const out = new Uint8Array(total);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < n; i++) {
    if (json && i > 0) out[at++] = 0x2c; // ,
    out.set(encoded[i] as Uint8Array, at);
    at += (encoded[i] as Uint8Array).length;
  }
  if (json) out[at] = 0x5d; // ]
  return out;
}

type Zstd = { compress: Compressor; decompress: (d: Uint8Array) => Uint8Array };
let zstd: Promise<Zstd> | null = null;

/** Loads zstd only when asked for (an optional dependency); the wasm module is initialised once per process. */
export function loadZstd(): Promise<Zstd> {
  zstd ??= initZstd();
  return zstd;
}

async function initZstd(): Promise<Zstd> {
  const name = '@bokuweb/zstd-wasm';
  let mod: {
    init(): Promise<void>;
    compress(d: Uint8Array, level?: number): Uint8Array;
    decompress(d: Uint8Array): Uint8Array;
  };
  try {
    mod = await import(name);
  } catch (err) {
    throw new Error(`compression 'zstd' needs the optional package ${name} (npm install ${name})`, { cause: err });
  }
  await mod.init();
  return { compress: (d) => mod.compress(d, 3), decompress: (d) => mod.decompress(d) };
}
