/**
 * Maps type OIDs to names and decoders. Built-ins are known statically; user-defined types (enums, domains,
 * ranges, composites and arrays of them) are loaded from pg_type at start and on demand. A domain decodes as
 * its base type; anything without a native decoder passes as text, with its type name in the schema.
 */
import { DecodeError, type Value } from '@walstream/core';
import { utf8 } from '../utf8.js';
import { type BinaryDecoder, binaryArray, builtinBinaryDecoder } from './binary.js';
import { BUILTIN_ARRAYS, BUILTIN_NAMES } from './oids.js';
import { arrayWithBounds, asText, builtinTextDecoder, parseArray, type TextDecoder } from './text.js';

export interface TypeInfo {
  readonly oid: number;
  readonly name: string;
  readonly text: TextDecoder;
  /** Undefined when walstream has no binary decoder for it (binary mode then fails for this type). */
  readonly binary: BinaryDecoder | undefined;
}

/** A row of the pg_type query in `TYPE_QUERY`. */
export interface PgTypeRow {
  oid: number;
  name: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typdelim: string;
  typcategory: string;
}

/**
 * Every user-defined type (oid >= FirstNormalObjectId), every built-in one (so types without a decoder still
 * carry their name), plus the requested ones.
 */
export const TYPE_QUERY = `SELECT t.oid::int4 AS oid, format_type(t.oid, NULL) AS name, t.typtype::text AS typtype,
  t.typbasetype::int4 AS typbasetype, t.typelem::int4 AS typelem, t.typdelim::text AS typdelim,
  t.typcategory::text AS typcategory
  FROM pg_type t WHERE t.oid >= 16384 OR t.typnamespace = 'pg_catalog'::regnamespace OR t.oid = ANY($1::oid[])`;

export class TypeRegistry {
  private readonly types = new Map<number, TypeInfo>();
  private rows = new Map<number, PgTypeRow>();

  get(oid: number): TypeInfo {
    let t = this.types.get(oid);
    if (t === undefined) {
      t = this.resolve(oid, 0);
      this.types.set(oid, t);
    }
    return t;
  }

  /** Whether an OID is fully known (else the reader loads pg_type before decoding with it). */
  has(oid: number): boolean {
    if (BUILTIN_NAMES[oid] !== undefined || BUILTIN_ARRAYS[oid] !== undefined) return true;
    const row = this.rows.get(oid);
    return row !== undefined && row.typtype !== '?';
  }

  /** Adds pg_type rows (replacing earlier ones) and forgets derived decoders. */
  load(rows: readonly PgTypeRow[]): void {
    for (const r of rows) this.rows.set(r.oid, r);
    this.types.clear();
  }

  /** A pgoutput Type message: at least the name is known, even before pg_type is read. */
  noteName(oid: number, namespace: string, name: string): void {
    if (this.rows.has(oid)) return;
    const qualified = namespace === '' || namespace === 'pg_catalog' ? name : `${namespace}.${name}`;
    this.rows.set(oid, {
      oid,
      name: qualified,
      typtype: '?',
      typbasetype: 0,
      typelem: 0,
      typdelim: ',',
      typcategory: '?',
    });
    this.types.delete(oid);
  }

  private resolve(oid: number, depth: number): TypeInfo {
    if (depth > 16) throw new DecodeError(`type ${oid}: domain or array nesting too deep`);
    const builtinName = BUILTIN_NAMES[oid];
    if (builtinName !== undefined) {
      return { oid, name: builtinName, text: builtinTextDecoder(oid), binary: builtinBinaryDecoder(oid) };
    }
    const builtinElem = BUILTIN_ARRAYS[oid];
    if (builtinElem !== undefined) return this.arrayOf(oid, `${BUILTIN_NAMES[builtinElem]}[]`, builtinElem, ',', depth);
    const row = this.rows.get(oid);
    if (row === undefined) return { oid, name: `oid:${oid}`, text: asText, binary: undefined };
    if (row.typtype === 'd' && row.typbasetype !== 0) {
      const base = this.resolve(row.typbasetype, depth + 1);
      return { oid, name: row.name, text: base.text, binary: base.binary };
    }
    if (row.typcategory === 'A' && row.typelem !== 0) {
      return this.arrayOf(oid, row.name, row.typelem, row.typdelim || ',', depth);
    }
    if (row.typtype === 'e') return { oid, name: row.name, text: asText, binary: utf8 };
    return { oid, name: row.name, text: asText, binary: undefined };
  }

  private arrayOf(oid: number, name: string, elemOid: number, delim: string, depth: number): TypeInfo {
    const elem = this.resolve(elemOid, depth + 1);
    const elemText = elem.text;
    return {
      oid,
      name,
      text: (s: string): Value => {
        const values = parseArray(s, elemText, delim);
        // `[0:2]={...}`: bounds other than 1 are kept (see arrayWithBounds).
        return s.charCodeAt(0) === 91 /* [ */ ? arrayWithBounds(s.slice(0, s.indexOf('=')), values, delim) : values;
      },
      binary: elem.binary ? binaryArray(elem.binary) : undefined,
    };
  }
}
