import { v } from '@walstream/core/internal';
import type { SnapshotCheckpointStore } from './checkpoint.js';

export interface SnapshotOptions {
  /**
   * `initial`: copy existing rows (as READ events) before streaming, from the slot's exported snapshot, when the
   * slot is created; `only`: copy and stop (no slot is used, no stream read, so replica identities are not
   * checked); `never`: stream only. @default 'never'
   */
  mode?: 'initial' | 'never' | 'only';
  /** Tables to copy (`schema.table`, a subset of the published ones). @default every published table */
  tables?: string[];
  /**
   * Rows per chunk: one checkpoint each (a resumed copy starts after the last chunk every sink holds); one keyset
   * query each for on-demand snapshots, whose memory holds a chunk. @default 10000
   */
  chunkRows?: number;
  /** Accept `reader.requestSnapshot()` while streaming; needs logical messages on the slot. @default true */
  onDemand?: boolean;
  /** Where progress is kept for resuming after a crash. @default a table in the source database */
  checkpoint?: SnapshotCheckpointStore;
  /** The default store's table. @default 'public.walstream_snapshot_checkpoints' */
  checkpointTable?: string;
}

export interface ResolvedSnapshotOptions {
  mode: 'initial' | 'never' | 'only';
  tables: string[] | undefined;
  chunkRows: number;
  onDemand: boolean;
  checkpoint: SnapshotCheckpointStore | undefined;
  checkpointTable: string | undefined;
}

/** Rows per chunk at most: an on-demand chunk is held in memory until its high watermark. */
export const MAX_CHUNK_ROWS = 1_000_000;

export const snapshotOptionsSchema = v.object({
  mode: v.enum(['initial', 'never', 'only']).optional(),
  tables: v.array(v.string().min(1)).min(1).optional(),
  chunkRows: v.number().int().positive().max(MAX_CHUNK_ROWS).optional(),
  onDemand: v.boolean().optional(),
  checkpoint: v
    .custom<SnapshotCheckpointStore>(
      (x) => typeof x === 'object' && x !== null && typeof (x as { save?: unknown }).save === 'function',
      'must be a SnapshotCheckpointStore',
    )
    .optional(),
  checkpointTable: v.string().min(1).optional(),
});

export function resolveSnapshotOptions(o: SnapshotOptions | undefined): ResolvedSnapshotOptions {
  return {
    mode: o?.mode ?? 'never',
    tables: o?.tables,
    chunkRows: o?.chunkRows ?? 10_000,
    onDemand: o?.onDemand ?? true,
    checkpoint: o?.checkpoint,
    checkpointTable: o?.checkpointTable,
  };
}
