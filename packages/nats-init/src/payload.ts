/**
 * INIT payloads. A chunk: `{ table, operation: "snapshot", snapshot_id, chunk, lsn, data: [row, ...] }`; the
 * metadata: `{ snapshot_id, lsn, timestamp, batch_count, row_count, table }`. MessagePack keeps every value
 * exact (int8 as int64, bytea as bin, json as walstream's RawJson extension); JSON uses walstream's canonical
 * value encoding (int8 and numeric as strings, bytea as base64).
 */
import { decodeMsgpackMulti, encodeRowJson, type Row } from '@walstream/core';
import { encodeMsgpack } from '@walstream/core/internal';
import { loadZstd } from '@walstream/sink-nats';

export interface InitChunk {
  readonly table: string;
  readonly operation: 'snapshot';
  readonly snapshot_id: string;
  readonly chunk: number;
  /** Apply every CDC event whose commit LSN is above this one after the chunks. */
  readonly lsn: string;
  readonly data: readonly Row[];
}

export interface InitMeta {
  readonly snapshot_id: string;
  readonly lsn: string;
  readonly timestamp: string;
  readonly batch_count: number;
  readonly row_count: number;
  readonly table: string;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeChunk(c: InitChunk, json: boolean): Uint8Array {
  if (!json) return encodeMsgpack(c);
  const head = JSON.stringify({
    table: c.table,
    operation: c.operation,
    snapshot_id: c.snapshot_id,
    chunk: c.chunk,
    lsn: c.lsn,
  }).slice(0, -1);
  return utf8.encode(`${head},"data":[${c.data.map((r) => encodeRowJson(r)).join(',')}]}`);
}

export function encodeMeta(m: InitMeta, json: boolean): Uint8Array {
  return json ? utf8.encode(JSON.stringify(m)) : encodeMsgpack(m);
}

/** Decodes an INIT message (chunk or metadata) as a consumer receives it: `Content-Encoding` and `Content-Type` headers. */
export async function decodeInitMessage<T extends InitChunk | InitMeta>(
  data: Uint8Array,
  headers?: { get(name: string): string } | undefined,
): Promise<T> {
  let bytes = data;
  if (headers?.get('Content-Encoding') === 'zstd') bytes = (await loadZstd()).decompress(bytes);
  if (headers?.get('Content-Type') === 'application/json') return JSON.parse(fromUtf8.decode(bytes)) as T;
  return decodeMsgpackMulti(bytes)[0] as T;
}
