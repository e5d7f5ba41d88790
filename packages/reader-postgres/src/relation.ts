/**
 * A relation as the stream describes it (pgoutput Relation message), with each column's decoder resolved
 * once, so decoding a row is one loop with no lookups.
 */
import type { ReplicaIdentity, Row, TableSchema, Value } from '@walstream/core';
import type { RelationColumn } from './protocol/messages.js';
import { rowBuilder } from './row-builder.js';
import type { BinaryDecoder } from './types/binary.js';
import type { TypeRegistry } from './types/registry.js';
import type { TextDecoder } from './types/text.js';

export interface Relation {
  readonly id: number;
  readonly schema: string;
  readonly table: string;
  readonly names: readonly string[];
  readonly text: readonly TextDecoder[];
  readonly binary: readonly (BinaryDecoder | undefined)[];
  readonly typeNames: readonly string[];
  /** Indexes of the replica-identity (key) columns. */
  readonly keys: readonly number[];
  readonly tableSchema: TableSchema;
  /** Builds a row holding every column from its values in column order (see row-builder.ts). */
  readonly build: (values: readonly Value[]) => Row;
}

const IDENTITY: Record<number, ReplicaIdentity> = { 100: 'default', 110: 'nothing', 102: 'full', 105: 'index' };

export function buildRelation(
  msg: {
    relationId: number;
    namespace: string;
    name: string;
    replicaIdentity: number;
    columns: readonly RelationColumn[];
  },
  types: TypeRegistry,
): Relation {
  const schema = msg.namespace === '' ? 'pg_catalog' : msg.namespace;
  const infos = msg.columns.map((c) => types.get(c.typeOid));
  return {
    id: msg.relationId,
    schema,
    table: msg.name,
    names: msg.columns.map((c) => c.name),
    text: infos.map((t) => t.text),
    binary: infos.map((t) => t.binary),
    typeNames: infos.map((t) => t.name),
    keys: msg.columns.flatMap((c, i) => (c.key ? [i] : [])),
    build: rowBuilder(msg.columns.map((c) => c.name)),
    tableSchema: {
      schema,
      table: msg.name,
      relationId: msg.relationId,
      replicaIdentity: IDENTITY[msg.replicaIdentity] ?? 'default',
      columns: msg.columns.map((c, i) => ({
        name: c.name,
        type: (infos[i] as { name: string }).name,
        typeOid: c.typeOid,
        typeModifier: c.typeModifier,
        key: c.key,
      })),
    },
  };
}

/** Same table shape (names, types, keys, identity)? A Relation message is re-sent without changes often. */
export function sameShape(a: TableSchema, b: TableSchema): boolean {
  if (a.schema !== b.schema || a.table !== b.table || a.replicaIdentity !== b.replicaIdentity) return false;
  if (a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => {
    const d = b.columns[i];
    return (
      d !== undefined &&
      c.name === d.name &&
      c.typeOid === d.typeOid &&
      c.typeModifier === d.typeModifier &&
      c.key === d.key
    );
  });
}
