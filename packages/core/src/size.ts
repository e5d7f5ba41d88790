/**
 * A cheap estimate of an event's memory footprint, used for the in-flight byte budget and batch limits.
 * It walks values once without allocating; exactness does not matter, proportionality does.
 */
import type { ChangeEvent, Row, Value } from './event.js';
import { RawJson } from './event.js';

const EVENT_OVERHEAD = 160;

export function estimateEventBytes(e: ChangeEvent): number {
  let n = EVENT_OVERHEAD + e.table.length + e.schema.length;
  if (e.key !== null) n += rowBytes(e.key);
  if (e.before !== null) n += rowBytes(e.before);
  if (e.after !== null) n += rowBytes(e.after);
  if (e.message !== undefined) n += e.message.content.byteLength + e.message.prefix.length;
  return n;
}

function rowBytes(row: Row): number {
  let n = 0;
  for (const k in row) n += 16 + k.length + valueBytes(row[k] as Value);
  return n;
}

function valueBytes(v: Value): number {
  if (v === null) return 1;
  switch (typeof v) {
    case 'string':
      return v.length;
    case 'number':
    case 'boolean':
      return 8;
    case 'bigint':
      return 16;
  }
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof RawJson) return v.text.length;
  let n = 16;
  for (const x of v as readonly Value[]) n += valueBytes(x);
  return n;
}
