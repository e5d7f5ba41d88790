/**
 * Types created after the reader started: a Relation or Type message that names one, and reading pg_type again
 * so enums, domains and arrays created meanwhile decode as their real type.
 */
import pg from 'pg';
import { ConnectionError } from './errors.js';
import { decodePgoutput } from './protocol/decode.js';
import { where } from './replication.js';
import { TYPE_QUERY, type TypeRegistry } from './types/registry.js';

/** Whether the pgoutput message at `offset` of `frame` names a type the registry does not know. */
export function namesUnknownType(frame: Buffer, offset: number, inStream: boolean, types: TypeRegistry): boolean {
  const tag = frame[offset];
  if (tag !== 0x52 /* R */ && tag !== 0x59 /* Y */) return false;
  const m = decodePgoutput(frame, offset, frame.length, inStream);
  if (m.tag === 'relation') return m.columns.some((c) => !types.has(c.typeOid));
  if (m.tag === 'type') return !types.has(m.oid);
  return false;
}

/** Reads pg_type again on a connection of its own and loads it into `types`. */
export async function reloadTypes(config: pg.ClientConfig, types: TypeRegistry): Promise<void> {
  const client = new pg.Client(config);
  try {
    await client.connect();
    types.load((await client.query(TYPE_QUERY, [[]])).rows);
  } catch (err) {
    throw new ConnectionError(`cannot read pg_type from ${where(config)}`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}
