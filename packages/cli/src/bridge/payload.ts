/**
 * The reference NATS bridge's message shapes, so its consumers work unchanged:
 * CDC `{ operation, table, data, msg_id, subject, relation_id }` on `cdc.{table}.{operation}`, and schemas in KV
 * `{ table, schema, timestamp, columns: [{ name, position, data_type, is_nullable, column_default }] }`.
 * MessagePack by default, JSON with `--json`. Values: walstream's canonical ones (int8 and numeric as strings in
 * JSON, int64 in MessagePack; bytea as base64 / bin); json and jsonb as nested objects, as the bridge sends them.
 */
import { type ChangeEvent, encodeRowJson, RawJson, type Row, type Value } from '@walstream/core';
import { encodeMsgpack, setField } from '@walstream/core/internal';
import { subjectToken } from '@walstream/sink-nats';

export interface BridgeColumn {
  name: string;
  position: number;
  data_type: string;
  is_nullable: boolean;
  column_default: string | null;
}

export interface BridgeSchema {
  table: string;
  schema: string;
  timestamp: number;
  columns: BridgeColumn[];
}

/** `cdc.{table}.{operation}`, the table escaped as the NATS sink escapes subject tokens. */
export function bridgeSubject(e: ChangeEvent): string {
  return `cdc.${subjectToken(e.table)}.${e.operation.toLowerCase()}`;
}

/** The row the bridge puts in `data`: the new row, or for a DELETE the old one (key columns at least). */
function dataOf(e: ChangeEvent): Row {
  return e.after ?? e.before ?? e.key ?? {};
}

/** MessagePack has no RawJson: json/jsonb become nested values, as the bridge sends them. */
function plain(v: Value): unknown {
  if (v instanceof RawJson) return v.parse();
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/**
 * An encoder for the NATS sink's `encode` option. `relationId` maps `schema.table` to the source relation id
 * (from the schema items the reader sends before a table's first event).
 */
export function createBridgeEncoder(json: boolean, relationId: (schema: string, table: string) => number | null) {
  const text = new TextEncoder();
  return (e: ChangeEvent): Uint8Array => {
    const subject = bridgeSubject(e);
    const rel = relationId(e.schema, e.table);
    if (json) {
      const q = JSON.stringify;
      return text.encode(
        `{"operation":${q(e.operation)},"table":${q(e.table)},"data":${encodeRowJson(dataOf(e))},"msg_id":${q(e.id)},"subject":${q(subject)},"relation_id":${rel ?? 'null'}}`,
      );
    }
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(dataOf(e))) setField(data, k, plain(v));
    return encodeMsgpack({ operation: e.operation, table: e.table, data, msg_id: e.id, subject, relation_id: rel });
  };
}

export function encodeBridgeSchema(s: BridgeSchema, json: boolean): Uint8Array {
  return json ? new TextEncoder().encode(JSON.stringify(s)) : encodeMsgpack(s);
}
