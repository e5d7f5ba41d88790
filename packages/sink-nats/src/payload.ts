/** Message payloads: one event or a packed batch, canonical JSON or MessagePack, optionally zstd. */
import { type ChangeEvent, encodeEventJson, encodeEventMsgpack, encodeMsgpack, toMsgpackObject } from '@walstream/core';

export type Compressor = (data: Uint8Array) => Uint8Array;

const utf8 = new TextEncoder();

export function encodeOne(e: ChangeEvent, json: boolean): Uint8Array {
  return json ? utf8.encode(encodeEventJson(e)) : encodeEventMsgpack(e);
}

/** A batch payload: a JSON array or a MessagePack array of event maps. */
export function encodeMany(events: readonly ChangeEvent[], json: boolean): Uint8Array {
  return json ? utf8.encode(`[${events.map(encodeEventJson).join(',')}]`) : encodeMsgpack(events.map(toMsgpackObject));
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
