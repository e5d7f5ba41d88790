/**
 * Decodes one TupleData (pgoutput) against its relation into a Row. Unchanged TOAST columns ('u') are
 * left out of the row and reported separately: never turned into null.
 */
import { DecodeError, type Row, type Value } from '@walstream/core';
import { setField } from '@walstream/core/internal';
import type { Relation } from '../relation.js';
import { utf8 } from '../utf8.js';

export interface DecodedTuple {
  row: Row;
  unchanged: string[];
}

const NO_UNCHANGED: string[] = [];
/** A column the tuple does not carry (left out of the row). */
const ABSENT: unique symbol = Symbol('absent');

/** `keysOnly`: an old-key ('K') tuple, where only key columns carry data. */
export function decodeTuple(buf: Buffer, start: number, rel: Relation, keysOnly: boolean): DecodedTuple {
  const n = buf.readInt16BE(start);
  if (n > rel.names.length) {
    throw new DecodeError(`tuple of ${rel.schema}.${rel.table} has ${n} columns, relation has ${rel.names.length}`);
  }
  let off = start + 2;
  // Values first, then the row: when every column is there (most tuples) the relation's generated builder makes
  // it in one go; a tuple without some columns (unchanged TOAST, key-only) is assigned column by column.
  const values: (Value | typeof ABSENT)[] = new Array(n);
  let complete = n === rel.names.length;
  let unchanged = NO_UNCHANGED;
  for (let i = 0; i < n; i++) {
    const kind = buf[off++];
    if (kind === 0x6e /* n */) {
      if (!keysOnly || rel.keys.includes(i)) values[i] = null;
      else {
        values[i] = ABSENT;
        complete = false;
      }
      continue;
    }
    if (kind === 0x75 /* u */) {
      if (unchanged === NO_UNCHANGED) unchanged = [];
      unchanged.push(rel.names[i] as string);
      values[i] = ABSENT;
      complete = false;
      continue;
    }
    const len = buf.readInt32BE(off);
    off += 4;
    values[i] = decodeValue(buf, off, off + len, kind as number, rel, i);
    off += len;
  }
  if (complete) return { row: rel.build(values as Value[]), unchanged };
  const row: Row = {};
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== ABSENT) setField(row, rel.names[i] as string, v as Value);
  }
  return { row, unchanged };
}

function decodeValue(buf: Buffer, start: number, end: number, kind: number, rel: Relation, i: number): Value {
  const bin = kind === 0x74 /* t */ ? undefined : rel.binary[i];
  if (kind !== 0x74 && bin === undefined) {
    throw new DecodeError(
      `no binary decoder for type ${rel.typeNames[i]} (column ${rel.names[i]} of ${rel.schema}.${rel.table}); use binary: false`,
    );
  }
  try {
    if (bin === undefined) return (rel.text[i] as (s: string) => Value)(utf8(buf, start, end));
    return bin(buf, start, end);
  } catch (err) {
    // The decoders' own DecodeErrors say what format was expected and never quote the value.
    if (err instanceof DecodeError) {
      throw new DecodeError(
        `cannot decode column ${rel.names[i]} (${rel.typeNames[i]}) of ${rel.schema}.${rel.table}: ${err.message}`,
      );
    }
    // Name the column and type, never the value: the underlying message (and so `cause`) may quote it.
    throw new DecodeError(
      `cannot decode column ${rel.names[i]} (${rel.typeNames[i]}) of ${rel.schema}.${rel.table}: ${(err as Error).name}`,
    );
  }
}

/** The key columns of a row, in relation order. */
export function keyOf(row: Row, rel: Relation): Row | null {
  if (rel.keys.length === 0) return null;
  const key: Row = {};
  for (const k of rel.keys) {
    const name = rel.names[k] as string;
    setField(key, name, row[name] ?? null);
  }
  return key;
}
