/** Builders for events and transactions in tests and benchmarks. */
import type { ChangeEvent, ReaderItem, Row, TransactionCommit } from '../event.js';
import { type Position, positionId } from '../position.js';

export interface MakeEventInput extends Partial<Omit<ChangeEvent, 'position' | 'id'>> {
  lsn?: bigint;
  index?: number;
}

export function makeEvent(input: MakeEventInput = {}): ChangeEvent {
  const position: Position = { lsn: input.lsn ?? 0x1000n, index: input.index ?? 0 };
  const after: Row | null = input.after === undefined ? { id: position.index, note: 'x' } : input.after;
  return {
    id: positionId(position),
    position,
    operation: input.operation ?? 'INSERT',
    timestamp: input.timestamp ?? '2026-01-01T00:00:00.000Z',
    transactionId: input.transactionId ?? String(Number(position.lsn)),
    database: input.database ?? 'test',
    schema: input.schema ?? 'public',
    table: input.table ?? 'items',
    key: input.key === undefined ? (after === null ? null : { id: after.id ?? null }) : input.key,
    before: input.before ?? null,
    after,
    unchanged: input.unchanged ?? [],
    ...(input.truncate ? { truncate: input.truncate } : {}),
    ...(input.message ? { message: input.message } : {}),
  };
}

export interface MakeTransactionsInput {
  transactions: number;
  eventsPerTransaction: number;
  /** LSN of the first transaction; each next one is 0x100 further. @default 0x1000n */
  startLsn?: bigint;
  table?: string;
  /** Emit a commit marker after each transaction. @default true */
  commits?: boolean;
  /** Builds the row of event `n` (global ordinal). */
  row?: (n: number) => Row;
}

/** A stream of transactions: events followed by a commit marker each. */
export function makeTransactions(input: MakeTransactionsInput): ReaderItem[] {
  const out: ReaderItem[] = [];
  let lsn = input.startLsn ?? 0x1000n;
  let n = 0;
  for (let t = 0; t < input.transactions; t++, lsn += 0x100n) {
    for (let i = 0; i < input.eventsPerTransaction; i++, n++) {
      const after = input.row ? input.row(n) : { id: n, note: 'x' };
      out.push(makeEvent({ lsn, index: i, table: input.table ?? 'items', after, transactionId: String(t + 1) }));
    }
    if (input.commits !== false) out.push(commitOf(lsn, input.eventsPerTransaction, String(t + 1)));
  }
  return out;
}

export function commitOf(lsn: bigint, eventCount: number, transactionId = '1'): TransactionCommit {
  return {
    kind: 'commit',
    position: { lsn, index: eventCount - 1 },
    transactionId,
    timestamp: '2026-01-01T00:00:00.000Z',
    eventCount,
  };
}
