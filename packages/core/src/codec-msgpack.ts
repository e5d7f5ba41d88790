/**
 * MessagePack envelope: the same fields as the JSON envelope with native types (bigint as int64, bytes as
 * bin, RawJson as extension type 1 holding its UTF-8 text), so a decode gives back the exact event.
 */
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import type { Codec } from './codec.js';
import { CodecError } from './codec-error.js';
import type { ChangeEvent } from './event.js';
import { RawJson } from './event.js';
import { formatLsn, parseLsn } from './lsn.js';
import { RAW_JSON_EXT, recordLength, writeMsgpack } from './msgpack-writer.js';

export { RAW_JSON_EXT };

// Decoding uses @msgpack/msgpack's public API; encoding is msgpack-writer.ts (-0 must stay a float).
const extensionCodec = new ExtensionCodec();
const fromUtf8 = new TextDecoder();
extensionCodec.register({
  type: RAW_JSON_EXT,
  encode: () => null, // never used: the encoder is our own
  decode: (data: Uint8Array) => new RawJson(fromUtf8.decode(data)),
});
const decoder = new Decoder({ extensionCodec, useBigInt64: true });

const encode = (v: unknown): Uint8Array => {
  try {
    return writeMsgpack(v);
  } catch (err) {
    // The writer's messages name types and limits, never values.
    throw new CodecError(`cannot encode as MessagePack: ${(err as Error).message}`, { cause: err });
  }
};

export function encodeEventMsgpack(e: ChangeEvent): Uint8Array {
  return encode(toMsgpackObject(e));
}

export function toMsgpackObject(e: ChangeEvent): Record<string, unknown> {
  return { ...e, position: { lsn: formatLsn(e.position.lsn), index: e.position.index } };
}

export function fromMsgpackObject(o: unknown): ChangeEvent {
  if (typeof o !== 'object' || o === null) throw new CodecError('event must be a map');
  const rec = o as Record<string, unknown> & { position?: { lsn?: unknown; index?: unknown } };
  const pos = rec.position;
  if (!pos || typeof pos.lsn !== 'string' || typeof pos.index !== 'number') {
    throw new CodecError('event.position must be {lsn, index}');
  }
  return { ...(rec as unknown as ChangeEvent), position: { lsn: parseLsn(pos.lsn), index: pos.index } };
}

export function decodeEventMsgpack(bytes: Uint8Array): ChangeEvent {
  let o: unknown;
  try {
    o = decoder.decode(bytes);
  } catch (err) {
    throw new CodecError('not valid MessagePack', { cause: err });
  }
  return fromMsgpackObject(o);
}

/** Encodes any value with walstream's extension types (used for batch envelopes). */
export function encodeMsgpack(value: unknown): Uint8Array {
  return encode(value);
}

/** Decodes every MessagePack value concatenated in `bytes`. */
export function decodeMsgpackMulti(bytes: Uint8Array): unknown[] {
  try {
    return [...decoder.decodeMulti(bytes)];
  } catch (err) {
    throw new CodecError('not valid MessagePack', { cause: err });
  }
}

export const msgpackCodec: Codec = {
  name: 'msgpack',
  contentType: 'application/msgpack',
  encode: encodeEventMsgpack,
  decode: decodeEventMsgpack,
};

/**
 * Decodes concatenated MessagePack records and says how many leading bytes hold whole records, so a file
 * with a torn last record (a crash mid-append) can be cut back to its last good record.
 */
export function decodeMsgpackRecords(bytes: Uint8Array): { values: unknown[]; validBytes: number } {
  const values: unknown[] = [];
  let validBytes = 0;
  while (validBytes < bytes.length) {
    let n: number;
    try {
      n = recordLength(bytes, validBytes);
    } catch {
      break; // no MessagePack structure from here: what a torn write left
    }
    if (n < 0) break; // a torn last record
    try {
      values.push(decoder.decode(bytes.subarray(validBytes, validBytes + n)));
    } catch (err) {
      // A whole record that does not decode: the file's last one may be garbage of a torn write; with records
      // after it, it is not, and cutting the file there would throw those records away.
      if (validBytes + n >= bytes.length) break;
      throw new CodecError(`MessagePack record at byte ${validBytes} cannot be decoded`, { cause: err });
    }
    validBytes += n;
  }
  return { values, validBytes };
}
