/** Builders for the batches the apply scenarios write: columns, schema changes, events, batches. */
import type { Batch, ChangeEvent, ColumnSchema, SchemaChange, TableSchema } from '@walstream/core';
import { silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';

export const ctx = (pipeline = 'p') => ({ pipeline, logger: silentLogger, signal: new AbortController().signal });
export const opts = { signal: new AbortController().signal };

export function col(name: string, type: string, key = false, typeModifier = -1): ColumnSchema {
  return { name, type, typeOid: 0, typeModifier, key };
}

export function schemaOf(
  table: string,
  columns: ColumnSchema[],
  previous: TableSchema | null = null,
  lsn = 0x10n,
): SchemaChange {
  return {
    kind: 'schema',
    position: { lsn, index: 0 },
    schema: { schema: 'public', table, relationId: 1, replicaIdentity: 'default', columns },
    previous,
  };
}

let seq = 0;
/** The next batch sequence number (for batches built by hand). */
export const nextSeq = () => ++seq;

/** A batch of `events` with a commit for each LSN in it (none with `commit: false`). */
export function batch(events: ChangeEvent[], opts2: { commit?: boolean; schema?: SchemaChange[] } = {}): Batch {
  const byLsn = new Map<bigint, ChangeEvent>();
  for (const e of events) byLsn.set(e.position.lsn, e);
  const commits =
    opts2.commit === false ? [] : [...byLsn.values()].map((e) => commitOf(e.position.lsn, e.position.index + 1));
  return { seq: nextSeq(), events, commits, schemaChanges: opts2.schema ?? [], bytes: events.length * 100 };
}

/** An event keyed by `after.id` (or `extra.key` when there is no `after`). */
export const ev = (
  table: string,
  lsn: bigint,
  index: number,
  operation: ChangeEvent['operation'],
  after: Record<string, never> | Record<string, unknown> | null,
  extra: Partial<ChangeEvent> = {},
) =>
  makeEvent({
    table,
    lsn,
    index,
    operation,
    after: after as never,
    key: (after ? { id: (after as { id: never }).id } : extra.key) as never,
    ...extra,
  });
