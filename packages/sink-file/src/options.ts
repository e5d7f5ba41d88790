import { parseOptions } from '@walstream/core';
import { v } from '@walstream/core/internal';

export interface FileSinkOptions {
  /** The file being appended to, e.g. `out/changes.jsonl`. Its folder is created when missing. */
  path: string;
  /** `jsonl`: one canonical JSON envelope per line; `msgpack`: concatenated MessagePack maps. @default 'jsonl' */
  format?: 'jsonl' | 'msgpack';
  /**
   * `events`: one record per event. `transactions`: one record per source transaction
   * (`{transactionId, lsn, timestamp, events}`), written when the transaction ends. @default 'events'
   */
  mode?: 'events' | 'transactions';
  /** Start a new file once the current one holds this many bytes (checked before each write). @default unlimited */
  rotateBytes?: number;
  /** Start a new file once the current one is this old (checked before each write). @default unlimited */
  rotateIntervalMs?: number;
  /** Flush to disk (fdatasync) before `write` resolves. Turn off only for throwaway output. @default true */
  fsync?: boolean;
  /**
   * Transactions mode: an unfinished transaction is held in memory until it ends (it is not confirmed before,
   * so nothing is lost on a crash). A transaction larger than this fails the write (not retriable);
   * use mode `events` for bulk loads. @default 268435456 (256 MiB)
   */
  maxTransactionBytes?: number;
  /** Sink name in status and errors. @default `file:<path>` */
  name?: string;
}

export type ResolvedFileSinkOptions = Required<Omit<FileSinkOptions, 'rotateBytes' | 'rotateIntervalMs'>> & {
  rotateBytes: number;
  rotateIntervalMs: number;
};

const schema = v.object({
  path: v.string().min(1),
  format: v.enum(['jsonl', 'msgpack']).optional(),
  mode: v.enum(['events', 'transactions']).optional(),
  rotateBytes: v.number().int().positive().optional(),
  rotateIntervalMs: v.number().int().positive().optional(),
  fsync: v.boolean().optional(),
  maxTransactionBytes: v.number().int().positive().optional(),
  name: v.string().min(1).optional(),
});

export function resolveFileSinkOptions(input: FileSinkOptions): ResolvedFileSinkOptions {
  const o = parseOptions(schema, input, 'file');
  return {
    path: o.path,
    format: o.format ?? 'jsonl',
    mode: o.mode ?? 'events',
    rotateBytes: o.rotateBytes ?? Number.POSITIVE_INFINITY,
    rotateIntervalMs: o.rotateIntervalMs ?? Number.POSITIVE_INFINITY,
    fsync: o.fsync ?? true,
    maxTransactionBytes: o.maxTransactionBytes ?? 256 << 20,
    name: o.name ?? `file:${o.path}`,
  };
}
