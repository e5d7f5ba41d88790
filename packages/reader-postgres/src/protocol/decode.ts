/**
 * Pure decoding of pgoutput messages from a Buffer slice. `streamed` says the message sits between Stream
 * Start and Stream Stop, where change, relation, type and message records carry the (sub)transaction id.
 * One shared cursor per call: no per-message dispatch tables or closures.
 */
import { DecodeError } from '@walstream/core';
import { NO_TUPLE, OLD_FULL, OLD_KEY, type PgoutputMessage, type RelationColumn } from './messages.js';

let buf: Buffer;
let off = 0;
let lim = 0;

const u8 = () => buf[off++] as number;
const i16 = () => {
  const v = buf.readInt16BE(off);
  off += 2;
  return v;
};
const i32 = () => {
  const v = buf.readInt32BE(off);
  off += 4;
  return v;
};
const u32 = () => {
  const v = buf.readUInt32BE(off);
  off += 4;
  return v;
};
const i64 = () => {
  const v = buf.readBigUInt64BE(off);
  off += 8;
  return v;
};
const i64s = () => {
  const v = buf.readBigInt64BE(off);
  off += 8;
  return v;
};
const str = () => {
  const end = buf.indexOf(0, off);
  if (end < 0) throw new DecodeError('pgoutput: unterminated string');
  const s = buf.toString('utf8', off, end);
  off = end + 1;
  return s;
};

/** Skips one TupleData and returns where it started. */
function tuple(): number {
  const start = off;
  const n = i16();
  for (let i = 0; i < n; i++) {
    const kind = u8();
    if (kind === 0x74 /* t */ || kind === 0x62 /* b */) off += 4 + buf.readInt32BE(off);
    else if (kind !== 0x6e /* n */ && kind !== 0x75 /* u */) {
      throw new DecodeError(`pgoutput: unknown tuple column kind 0x${kind.toString(16)}`);
    }
  }
  return start;
}

export function decodePgoutput(data: Buffer, start: number, end: number, streamed: boolean): PgoutputMessage {
  buf = data;
  off = start + 1;
  lim = end;
  const tag = data[start];
  try {
    const msg = decodeBody(tag as number, streamed);
    if (off > lim) throw new DecodeError('pgoutput: message overruns its frame');
    return msg;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`pgoutput: truncated or malformed message of type 0x${(tag ?? 0).toString(16)}`, {
      cause: err,
    });
  }
}

function decodeBody(tag: number, streamed: boolean): PgoutputMessage {
  const xid = () => (streamed ? u32() : 0);
  switch (tag) {
    case 0x42: // B
      return { tag: 'begin', finalLsn: i64(), commitTime: i64s(), xid: u32() };
    case 0x43: {
      // C
      off += 1; // flags, unused
      return { tag: 'commit', commitLsn: i64(), endLsn: i64(), commitTime: i64s() };
    }
    case 0x4f: // O
      return { tag: 'origin', lsn: i64(), name: str() };
    case 0x52: {
      // R
      const x = xid();
      const relationId = u32();
      const namespace = str();
      const name = str();
      const replicaIdentity = u8();
      const n = i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = u8();
        columns.push({ key: (flags & 1) === 1, name: str(), typeOid: u32(), typeModifier: i32() });
      }
      return { tag: 'relation', xid: x, relationId, namespace, name, replicaIdentity, columns };
    }
    case 0x59: {
      // Y
      const x = xid();
      return { tag: 'type', xid: x, oid: u32(), namespace: str(), name: str() };
    }
    case 0x49: {
      // I
      const x = xid();
      const relationId = u32();
      if (u8() !== 0x4e) throw new DecodeError('pgoutput: insert without new tuple');
      return { tag: 'insert', xid: x, relationId, newTuple: tuple() };
    }
    case 0x55: {
      // U
      const x = xid();
      const relationId = u32();
      let kind = u8();
      let oldKind = 0;
      let oldTuple = NO_TUPLE;
      if (kind === OLD_KEY || kind === OLD_FULL) {
        oldKind = kind;
        oldTuple = tuple();
        kind = u8();
      }
      if (kind !== 0x4e) throw new DecodeError('pgoutput: update without new tuple');
      return { tag: 'update', xid: x, relationId, oldKind, oldTuple, newTuple: tuple() };
    }
    case 0x44: {
      // D
      const x = xid();
      const relationId = u32();
      const oldKind = u8();
      if (oldKind !== OLD_KEY && oldKind !== OLD_FULL) throw new DecodeError('pgoutput: delete without old tuple');
      return { tag: 'delete', xid: x, relationId, oldKind, oldTuple: tuple() };
    }
    case 0x54: {
      // T
      const x = xid();
      const n = u32();
      const options = u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(u32());
      return { tag: 'truncate', xid: x, options, relationIds };
    }
    case 0x4d: {
      // M
      const x = xid();
      const flags = u8();
      const lsn = i64();
      const prefix = str();
      const len = u32();
      const content = new Uint8Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + len));
      off += len;
      return { tag: 'message', xid: x, transactional: (flags & 1) === 1, lsn, prefix, content };
    }
    case 0x53: // S
      return { tag: 'streamStart', xid: u32(), first: u8() === 1 };
    case 0x45: // E
      return { tag: 'streamStop' };
    case 0x63: {
      // c
      const x = u32();
      off += 1;
      return { tag: 'streamCommit', xid: x, commitLsn: i64(), endLsn: i64(), commitTime: i64s() };
    }
    case 0x41: {
      // A: abort LSN and time follow only with protocol 4 and streaming=parallel
      const x = u32();
      const subxid = u32();
      const more = lim - off >= 16;
      return {
        tag: 'streamAbort',
        xid: x,
        subxid,
        abortLsn: more ? i64() : null,
        abortTime: more ? i64s() : null,
      };
    }
    case 0x62: // b
      return { tag: 'beginPrepare', prepareLsn: i64(), endLsn: i64(), prepareTime: i64s(), xid: u32(), gid: str() };
    case 0x50: // P
      off += 1;
      return { tag: 'prepare', prepareLsn: i64(), endLsn: i64(), prepareTime: i64s(), xid: u32(), gid: str() };
    case 0x4b: // K
      off += 1;
      return { tag: 'commitPrepared', commitLsn: i64(), endLsn: i64(), commitTime: i64s(), xid: u32(), gid: str() };
    case 0x72: // r
      off += 1;
      return {
        tag: 'rollbackPrepared',
        prepareEndLsn: i64(),
        rollbackEndLsn: i64(),
        prepareTime: i64s(),
        rollbackTime: i64s(),
        xid: u32(),
        gid: str(),
      };
    case 0x70: // p
      off += 1;
      return { tag: 'streamPrepare', prepareLsn: i64(), endLsn: i64(), prepareTime: i64s(), xid: u32(), gid: str() };
    default:
      throw new DecodeError(`pgoutput: unknown message type 0x${tag.toString(16)}`);
  }
}
