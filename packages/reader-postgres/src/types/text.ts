/**
 * Text-format value decoders (the walsender session is pinned to DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=postgres, bytea_output=hex, extra_float_digits=3, lc_monetary=C). A value in any other format
 * fails with a DecodeError (never passed through), and the error never quotes the value. Each is a plain function string -> Value; nothing is lost: int8 -> bigint,
 * numeric stays a string, json/jsonb stay verbatim, timestamps become ISO 8601 as Postgres' to_json writes them.
 */
import { DecodeError, RawJson, type Value } from '@walstream/core';
import { Oid } from './oids.js';

export type TextDecoder = (text: string) => Value;

export const asText: TextDecoder = (s) => s;
const asInt: TextDecoder = (s) => Number(s);
const asBigInt: TextDecoder = (s) => BigInt(s);
/** A value in a format the pinned session settings rule out: typed, and without the value. */
function unexpected(type: string, setting: string): DecodeError {
  return new DecodeError(`${type} value is not in the expected text format (the session must use ${setting})`);
}

const asBool: TextDecoder = (s) => {
  if (s === 't') return true;
  if (s === 'f') return false;
  throw unexpected('boolean', "the output 't'/'f'");
};
const asJson: TextDecoder = (s) => new RawJson(s);

/** float4/float8: JS Number parses NaN and Infinity spellings Postgres uses; -0 survives Number('-0'). */
const asFloat: TextDecoder = (s) => Number(s);

const HEX = /^\\x([0-9a-fA-F]*)$/;
const asBytea: TextDecoder = (s) => {
  const m = HEX.exec(s);
  if (m === null) throw unexpected('bytea', 'bytea_output=hex');
  const b = Buffer.from(m[1] as string, 'hex');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

const TIMESTAMPTZ = /^\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d(?::\d\d){0,2}(?: BC)?$/;
const TIMESTAMP = /^\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: BC)?$/;
const DATE = /^\d{4,}-\d\d-\d\d(?: BC)?$/;
const TIME = /^\d\d:\d\d:\d\d(?:\.\d{1,6})?$/;
const TIMETZ = /^\d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d(?::\d\d){0,2}$/;
/** IntervalStyle=postgres: `1 year 2 mons -3 days -04:05:06.789`, `00:00:00`. */
const INTERVAL = /^(?:[+-]?\d+ (?:years?|mons?|days?)(?: |$))*(?:[+-]?\d+:\d\d:\d\d(?:\.\d{1,6})?)?$/;
const INFINITE = new Set(['infinity', '-infinity']);

/**
 * `2026-05-03 02:40:00.123+00` -> `2026-05-03T02:40:00.123+00:00`; `infinity` stays; a ` BC` suffix stays;
 * years past 9999 keep all their digits (exactly Postgres' to_json rendering, and what binary mode gives).
 */
const asTimestamptz: TextDecoder = (s) => {
  if (!TIMESTAMPTZ.test(s)) {
    if (INFINITE.has(s)) return s;
    throw unexpected('timestamptz', 'DateStyle=ISO');
  }
  const sp = s.indexOf(' ');
  // The format is checked: the offset is +HH when its sign is third from the end (before any ` BC`); to_json
  // pads +HH to +HH:MM and keeps +HH:MM and +HH:MM:SS.
  const bc = s.charCodeAt(s.length - 1) === 0x43; /* C of ` BC` */
  const end = bc ? s.length - 3 : s.length;
  const sign = s.charCodeAt(end - 3);
  const pad = sign === 0x2b /* + */ || sign === 0x2d; /* - */
  const out = `${s.slice(0, sp)}T${s.slice(sp + 1, end)}${pad ? ':00' : ''}`;
  return bc ? `${out} BC` : out;
};
const asTimestamp: TextDecoder = (s) => {
  if (INFINITE.has(s)) return s;
  if (!TIMESTAMP.test(s)) throw unexpected('timestamp', 'DateStyle=ISO');
  const sp = s.indexOf(' ');
  return `${s.slice(0, sp)}T${s.slice(sp + 1)}`;
};
const checked =
  (re: RegExp, type: string, setting: string, infinite = false): TextDecoder =>
  (s) => {
    if ((infinite && INFINITE.has(s)) || re.test(s)) return s;
    throw unexpected(type, setting);
  };

/** money under lc_monetary=C (`-$1,234.50`) -> `-1234.50`: a plain decimal, independent of any locale. */
const MONEY = /^(-?)\$([\d,]+(?:\.\d+)?)$/;
const asMoney: TextDecoder = (s) => {
  const m = MONEY.exec(s);
  if (m === null) throw unexpected('money', 'lc_monetary=C');
  return `${m[1]}${(m[2] as string).replace(/,/g, '')}`;
};

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
  [Oid.date, checked(DATE, 'date', 'DateStyle=ISO', true)],
  [Oid.time, checked(TIME, 'time', 'DateStyle=ISO')],
  [Oid.timetz, checked(TIMETZ, 'timetz', 'DateStyle=ISO')],
  [Oid.interval, checked(INTERVAL, 'interval', 'IntervalStyle=postgres')],
  [Oid.money, asMoney],
]);

/** The decoder for a built-in scalar type; text for every other type. */
export function builtinTextDecoder(oid: number): TextDecoder {
  return BY_OID.get(oid) ?? asText;
}

/**
 * Parses Postgres array text (`{1,NULL,"a,b"}`, nested `{{1,2},{3,4}}`, with an optional `[0:1]=` bounds
 * prefix, which this function skips: the reader itself keeps bounds, see `arrayWithBounds`) and decodes each
 * element with `element`.
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

/** Renders decoded array elements back as Postgres array text (for arrays whose bounds must be kept). */
export function renderArray(values: readonly Value[], delimiter = ','): string {
  const el = (v: Value): string => {
    if (v === null) return 'NULL';
    if (Array.isArray(v)) return renderArray(v, delimiter);
    let s: string;
    if (v instanceof Uint8Array) s = `\\x${Buffer.from(v).toString('hex')}`;
    else if (typeof v === 'boolean') s = v ? 't' : 'f';
    else if (typeof v === 'number' && Object.is(v, -0)) s = '-0';
    else s = String(v);
    const needsQuotes = s === '' || s.toUpperCase() === 'NULL' || /[{}"\\\s]/.test(s) || s.includes(delimiter);
    return needsQuotes ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
  };
  return `{${values.map(el).join(delimiter)}}`;
}

/**
 * An array whose lower bounds are not all 1 keeps them: it decodes to a string, the bounds prefix followed by
 * the elements as walstream decodes them (`[0:2]={1,2,3}`), in text and binary mode alike.
 */
export function arrayWithBounds(bounds: string, values: readonly Value[], delimiter = ','): string {
  return `${bounds}=${renderArray(values, delimiter)}`;
}
