/**
 * Fault injection at the level of PostgreSQL protocol messages, for `TcpProxy.transform('client', ...)`: the
 * server's byte stream cut into whole backend messages (a type byte and an int32 length that counts itself), so
 * a test states only its rule (rewrite the first pgoutput Insert, hold the first Commit) and never splits TCP
 * chunks itself. A message split across chunks waits, per connection, until it is whole.
 */

/** What to forward in a message's place: itself (maybe rewritten in place), several, or nothing (held, dropped). */
export type PgMessageOutcome = Buffer | readonly Buffer[] | null;

export interface PgMessageHandlers {
  /** Each whole backend message of one connection (its ordinal), in order. */
  message(msg: Buffer, connection: number): PgMessageOutcome;
  /**
   * Runs for every chunk of a connection before its messages: returns messages to forward ahead of them (held ones
   * whose time has come). Held messages can only leave with the connection's next chunk: the proxy forwards
   * nothing unasked.
   */
  chunk?(connection: number): readonly Buffer[];
}

export function pgMessageTransform(h: PgMessageHandlers): (data: Buffer, connection: number) => Buffer {
  const partial = new Map<number, Buffer>();
  return (data, connection) => {
    const out: Buffer[] = h.chunk === undefined ? [] : [...h.chunk(connection)];
    const rest = partial.get(connection);
    const buf = rest === undefined || rest.length === 0 ? data : Buffer.concat([rest, data]);
    let off = 0;
    while (buf.length - off >= 5) {
      const size = 1 + buf.readUInt32BE(off + 1);
      if (buf.length - off < size) break;
      const r = h.message(buf.subarray(off, off + size), connection);
      if (Array.isArray(r)) out.push(...(r as readonly Buffer[]));
      else if (r !== null) out.push(r as Buffer);
      off += size;
    }
    // A copy: the rest must not change when the proxy reuses or the caller rewrites `data`.
    partial.set(connection, Buffer.from(buf.subarray(off)));
    return Buffer.concat(out);
  };
}

/** Offset of the pgoutput message type byte in a message pgoutputType() recognises (to rewrite it in place). */
export const PGOUTPUT_TYPE_OFFSET = 30;

/**
 * The pgoutput message type of a replication stream message (`I` insert, `C` commit, `B` begin...), or null for
 * anything else: a CopyData ('d') frame carrying XLogData ('w', then start, end and send time, 8 bytes each).
 */
export function pgoutputType(msg: Buffer): string | null {
  if (msg.length <= PGOUTPUT_TYPE_OFFSET || msg[0] !== 0x64 || msg[5] !== 0x77) return null;
  return String.fromCharCode(msg[PGOUTPUT_TYPE_OFFSET] as number);
}
