/**
 * Text-format value decoders (the walsender session uses DateStyle=ISO, TimeZone=UTC, bytea_output=hex,
 * extra_float_digits=3). Each is a plain function string -> Value; nothing is lost: int8 -> bigint,
 * numeric stays a string, json/jsonb stay verbatim, timestamps become ISO 8601 as Postgres' to_json writes them.
 */
import { RawJson, type Value } from '@walstream/core';
import { Oid } from './oids.js';

export type TextDecoder = (text: string) => Value;

export const asText: TextDecoder = (s) => s;
const asInt: TextDecoder = (s) => Number(s);
const asBigInt: TextDecoder = (s) => BigInt(s);
const asBool: TextDecoder = (s) => s === 't';
const asJson: TextDecoder = (s) => new RawJson(s);

/** float4/float8: JS Number parses NaN and Infinity spellings Postgres uses; -0 survives Number('-0'). */
const asFloat: TextDecoder = (s) => Number(s);

const HEX = /^\\x([0-9a-fA-F]*)$/;
const asBytea: TextDecoder = (s) => {
  const m = HEX.exec(s);
  if (m === null) throw new TypeError('bytea value is not in hex format (bytea_output must be hex)');
  const b = Buffer.from(m[1] as string, 'hex');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/**
 * `2026-05-03 02:40:00.123+00` -> `2026-05-03T02:40:00.123+00:00`; `infinity` stays; a ` BC` suffix stays
 * (exactly Postgres' to_json rendering).
 */
const asTimestamptz: TextDecoder = (s) => {
  if (s.length < 19 || s.charCodeAt(10) !== 32) return s; // infinity, -infinity
  let out = `${s.slice(0, 10)}T${s.slice(11)}`;
  const bc = out.endsWith(' BC');
  if (bc) out = out.slice(0, -3);
  // Offset at the end: +HH, +HH:MM or +HH:MM:SS; to_json pads +HH to +HH:MM.
  const m = /([+-]\d\d)(:\d\d)?(:\d\d)?$/.exec(out);
  if (m && m[2] === undefined) out = `${out}:00`;
  return bc ? `${out} BC` : out;
};
const asTimestamp: TextDecoder = (s) =>
  s.length < 19 || s.charCodeAt(10) !== 32 ? s : `${s.slice(0, 10)}T${s.slice(11)}`;

const BY_OID = new Map<number, TextDecoder>([
  [Oid.bool, asBool],
  [Oid.bytea, asBytea],
  [Oid.int8, asBigInt],
  [Oid.int2, asInt],
  [Oid.int4, asInt],
  [Oid.oid, asInt],
  [Oid.xid, asInt],
  [Oid.float4, asFloat],
  [Oid.float8, asFloat],
  [Oid.json, asJson],
  [Oid.jsonb, asJson],
  [Oid.timestamptz, asTimestamptz],
  [Oid.timestamp, asTimestamp],
]);

/** The decoder for a built-in scalar type; text for every other type. */
export function builtinTextDecoder(oid: number): TextDecoder {
  return BY_OID.get(oid) ?? asText;
}

/**
 * Parses Postgres array text (`{1,NULL,"a,b"}`, nested `{{1,2},{3,4}}`, with an optional `[0:1]=` bounds
 * prefix, which is dropped) and decodes each element with `element`.
 */
export function parseArray(text: string, element: TextDecoder, delimiter = ','): Value[] {
  let i = 0;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const eq = text.indexOf('=');
    if (eq < 0) throw new TypeError('malformed array bounds');
    i = eq + 1;
  }
  const parse = (): Value[] => {
    if (text[i] !== '{') throw new TypeError('malformed array literal');
    i++;
    const out: Value[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      const c = text[i];
      if (c === '{') out.push(parse());
      else if (c === '"') {
        let s = '';
        i++;
        for (;;) {
          const ch = text[i++];
          if (ch === undefined) throw new TypeError('unterminated quoted array element');
          if (ch === '\\') s += text[i++];
          else if (ch === '"') break;
          else s += ch;
        }
        out.push(element(s));
      } else {
        let j = i;
        while (j < text.length && text[j] !== delimiter && text[j] !== '}') j++;
        const raw = text.slice(i, j);
        i = j;
        out.push(raw === 'NULL' ? null : element(raw));
      }
      const sep = text[i++];
      if (sep === '}') return out;
      if (sep !== delimiter) throw new TypeError('malformed array literal');
    }
  };
  return parse();
}
