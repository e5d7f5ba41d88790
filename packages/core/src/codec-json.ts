/**
 * The canonical JSON envelope (ARCHITECTURE.md). Written by hand rather than through JSON.stringify so that
 * no precision is lost: bigint -> string, NaN/Infinity -> string, -0 stays -0, bytes -> base64, RawJson
 * spliced in verbatim (big integers inside jsonb survive).
 */
import { base64ToBytes, bytesToBase64 } from './base64.js';
import type { Codec } from './codec.js';
import { CodecError } from './codec-error.js';
import type { ChangeEvent, Operation, Row, Value } from './event.js';
import { RawJson } from './event.js';
import { setField } from './fields.js';
import { formatLsn, parseLsn } from './lsn.js';

const quote = JSON.stringify;

export function encodeValueJson(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
      return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
    case 'bigint':
      return `"${v}"`;
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof Uint8Array) return `"${bytesToBase64(v)}"`;
  if (v instanceof RawJson) return v.text;
  const arr = v as readonly Value[];
  let s = '[';
  for (let i = 0; i < arr.length; i++) s += (i === 0 ? '' : ',') + encodeValueJson(arr[i] as Value);
  return s + ']';
}

export function encodeRowJson(row: Row | null): string {
  if (row === null) return 'null';
  let s = '{';
  let first = true;
  for (const k in row) {
    s += (first ? '' : ',') + quote(k) + ':' + encodeValueJson(row[k] as Value);
    first = false;
  }
  return s + '}';
}

/** The canonical JSON text of one event (no trailing newline). */
export function encodeEventJson(e: ChangeEvent): string {
  let s =
    `{"id":${quote(e.id)},"position":{"lsn":"${formatLsn(e.position.lsn)}","index":${e.position.index}}` +
    `,"operation":"${e.operation}","timestamp":${quote(e.timestamp)},"transactionId":${quote(e.transactionId)}` +
    `,"database":${quote(e.database)},"schema":${quote(e.schema)},"table":${quote(e.table)}` +
    `,"key":${encodeRowJson(e.key)},"before":${encodeRowJson(e.before)},"after":${encodeRowJson(e.after)}` +
    `,"unchanged":${quote(e.unchanged)}`;
  if (e.truncate) s += `,"truncate":${quote(e.truncate)}`;
  if (e.message) {
    const m = e.message;
    s += `,"message":{"prefix":${quote(m.prefix)},"content":"${bytesToBase64(m.content)}","transactional":${m.transactional}}`;
  }
  if (e.origin !== undefined) s += `,"origin":${quote(e.origin)}`;
  return s + '}';
}

function rowFromJson(v: unknown): Row | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new CodecError('row must be an object or null');
  const out: Row = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) setField(out, k, valueFromJson(x));
  return out;
}

function valueFromJson(v: unknown): Value {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(valueFromJson);
  return new RawJson(JSON.stringify(v));
}

/**
 * Parses the canonical JSON envelope. JSON carries no column types, so values come back as their JSON
 * form: int8 and numeric as strings, bytea as base64 text, json objects as RawJson.
 */
export function decodeEventJson(text: string): ChangeEvent {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw new CodecError('not valid JSON', { cause: err });
  }
  return eventFromJsonObject(o);
}

/** Builds an event from an already parsed canonical JSON envelope (e.g. one inside a larger record). */
export function eventFromJsonObject(value: unknown): ChangeEvent {
  if (typeof value !== 'object' || value === null) throw new CodecError('event must be a JSON object');
  const o = value as Record<string, unknown>;
  const pos = o.position as { lsn?: unknown; index?: unknown } | undefined;
  if (!pos || typeof pos.lsn !== 'string' || typeof pos.index !== 'number') {
    throw new CodecError('event.position must be {lsn, index}');
  }
  for (const f of ['id', 'operation', 'timestamp', 'transactionId', 'database', 'schema', 'table'] as const) {
    if (typeof o[f] !== 'string') throw new CodecError(`event.${f} must be a string`);
  }
  const ev: ChangeEvent & { truncate?: unknown; message?: unknown } = {
    id: o.id as string,
    position: { lsn: parseLsn(pos.lsn), index: pos.index },
    operation: o.operation as Operation,
    timestamp: o.timestamp as string,
    transactionId: o.transactionId as string,
    database: o.database as string,
    schema: o.schema as string,
    table: o.table as string,
    key: rowFromJson(o.key ?? null),
    before: rowFromJson(o.before ?? null),
    after: rowFromJson(o.after ?? null),
    unchanged: Array.isArray(o.unchanged) ? (o.unchanged as string[]) : [],
  };
  if (o.truncate) (ev as { truncate?: unknown }).truncate = o.truncate;
  if (o.message) {
    const m = o.message as { prefix: string; content: string; transactional: boolean };
    (ev as { message?: unknown }).message = {
      prefix: m.prefix,
      content: base64ToBytes(m.content),
      transactional: m.transactional,
    };
  }
  if (typeof o.origin === 'string') (ev as { origin?: string }).origin = o.origin;
  return ev;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const jsonCodec: Codec = {
  name: 'json',
  contentType: 'application/json',
  encode: (e) => encoder.encode(encodeEventJson(e)),
  decode: (b) => decodeEventJson(decoder.decode(b)),
};
