/**
 * MessagePack envelope: the same fields as the JSON envelope with native types (bigint as int64, bytes as
 * bin, RawJson as extension type 1 holding its UTF-8 text), so a decode gives back the exact event.
 */
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import type { Codec } from './codec.js';
import { CodecError } from './codec-error.js';
import type { ChangeEvent } from './event.js';
import { RawJson } from './event.js';
import { formatLsn, parseLsn } from './lsn.js';

export const RAW_JSON_EXT = 1;

const extensionCodec = new ExtensionCodec();
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
extensionCodec.register({
  type: RAW_JSON_EXT,
  encode: (v: unknown) => (v instanceof RawJson ? utf8.encode(v.text) : null),
  decode: (data: Uint8Array) => new RawJson(fromUtf8.decode(data)),
});

const encoder = new Encoder({ extensionCodec, useBigInt64: true, ignoreUndefined: true });

// @msgpack/msgpack writes -0 as the integer 0 (Number.isSafeInteger(-0) is true); float8 -0 must survive,
// so -0 takes the float path. The method is private in its typings, hence the structural cast.
type NumberEncoder = { encodeNumber(n: number): void; encodeNumberAsFloat(n: number): void };
const numbers = encoder as unknown as NumberEncoder;
const encodeNumber = numbers.encodeNumber;
numbers.encodeNumber = function (this: NumberEncoder, n: number) {
  if (n === 0 && 1 / n < 0) this.encodeNumberAsFloat(n);
  else encodeNumber.call(this, n);
};
const decoder = new Decoder({ extensionCodec, useBigInt64: true });

export function encodeEventMsgpack(e: ChangeEvent): Uint8Array {
  return encoder.encode(toMsgpackObject(e));
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
  return encoder.encode(value);
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
  const d = new Decoder({ extensionCodec, useBigInt64: true });
  const cursor = d as unknown as { pos: number }; // `pos` is private in the typings; it is the read offset
  const values: unknown[] = [];
  let validBytes = 0;
  try {
    for (const v of d.decodeMulti(bytes)) {
      values.push(v);
      validBytes = cursor.pos;
    }
  } catch {
    // A torn or corrupt tail: everything before validBytes is whole.
  }
  return { values, validBytes };
}
