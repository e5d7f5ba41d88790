/**
 * pgoutput messages (protocol versions 1-4) as plain objects. Row data stays in the buffer: a tuple is the
 * offset where its TupleData starts, decoded later against its relation (see tuple.ts).
 */
export interface RelationColumn {
  readonly key: boolean;
  readonly name: string;
  readonly typeOid: number;
  readonly typeModifier: number;
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'origin'; lsn: bigint; name: string }
  | {
      tag: 'relation';
      xid: number;
      relationId: number;
      namespace: string;
      name: string;
      replicaIdentity: number;
      columns: RelationColumn[];
    }
  | { tag: 'type'; xid: number; oid: number; namespace: string; name: string }
  | { tag: 'insert'; xid: number; relationId: number; newTuple: number }
  | { tag: 'update'; xid: number; relationId: number; oldKind: number; oldTuple: number; newTuple: number }
  | { tag: 'delete'; xid: number; relationId: number; oldKind: number; oldTuple: number }
  | { tag: 'truncate'; xid: number; options: number; relationIds: number[] }
  | { tag: 'message'; xid: number; transactional: boolean; lsn: bigint; prefix: string; content: Uint8Array }
  | { tag: 'streamStart'; xid: number; first: boolean }
  | { tag: 'streamStop' }
  | { tag: 'streamCommit'; xid: number; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'streamAbort'; xid: number; subxid: number; abortLsn: bigint | null; abortTime: bigint | null }
  | { tag: 'beginPrepare'; prepareLsn: bigint; endLsn: bigint; prepareTime: bigint; xid: number; gid: string }
  | { tag: 'prepare'; prepareLsn: bigint; endLsn: bigint; prepareTime: bigint; xid: number; gid: string }
  | { tag: 'commitPrepared'; commitLsn: bigint; endLsn: bigint; commitTime: bigint; xid: number; gid: string }
  | {
      tag: 'rollbackPrepared';
      prepareEndLsn: bigint;
      rollbackEndLsn: bigint;
      prepareTime: bigint;
      rollbackTime: bigint;
      xid: number;
      gid: string;
    }
  | { tag: 'streamPrepare'; prepareLsn: bigint; endLsn: bigint; prepareTime: bigint; xid: number; gid: string };

export type PgoutputTag = PgoutputMessage['tag'];

/** No tuple (the `oldTuple` of an update without K/O). */
export const NO_TUPLE = -1;
export const OLD_KEY = 0x4b; // 'K'
export const OLD_FULL = 0x4f; // 'O'

export const TRUNCATE_CASCADE = 1;
export const TRUNCATE_RESTART_IDENTITY = 2;
