/**
 * Record encoding for both formats and both modes, and recovery of the last record of a file (for
 * idempotent replay) with the byte length of its whole records (to cut a torn tail).
 */
import {
  type ChangeEvent,
  decodeEventJson,
  encodeEventJson,
  eventFromJsonObject,
  formatLsn,
  fromMsgpackObject,
  type Position,
  parseLsn,
} from '@walstream/core';
import { decodeMsgpackRecords, encodeMsgpack, toMsgpackObject } from '@walstream/core/internal';

export type Format = 'jsonl' | 'msgpack';

export interface TransactionRecord {
  readonly transactionId: string;
  readonly lsn: bigint;
  readonly timestamp: string;
  readonly events: readonly ChangeEvent[];
}

export function encodeEventRecord(format: Format, e: ChangeEvent): Uint8Array | string {
  return format === 'jsonl' ? `${encodeEventJson(e)}\n` : encodeMsgpack(toMsgpackObject(e));
}

export function encodeTransactionRecord(format: Format, t: TransactionRecord): Uint8Array | string {
  if (format === 'jsonl') {
    const events = t.events.map(encodeEventJson).join(',');
    return `{"transactionId":${JSON.stringify(t.transactionId)},"lsn":"${formatLsn(t.lsn)}","timestamp":${JSON.stringify(t.timestamp)},"events":[${events}]}\n`;
  }
  return encodeMsgpack({
    transactionId: t.transactionId,
    lsn: formatLsn(t.lsn),
    timestamp: t.timestamp,
    events: t.events.map(toMsgpackObject),
  });
}

export interface FileTail {
  /** Position of the last event the file holds, null when it holds none. */
  last: Position | null;
  /** Bytes of whole records; anything after is a torn write. */
  validBytes: number;
}

/** Finds the last event position in a file's content; tolerates a torn last record. */
export function readTail(format: Format, mode: 'events' | 'transactions', content: Buffer): FileTail {
  if (format === 'jsonl') {
    const validBytes = content.lastIndexOf(0x0a) + 1; // after the last newline
    if (validBytes === 0) return { last: null, validBytes: 0 };
    const prev = content.lastIndexOf(0x0a, validBytes - 2) + 1;
    const line = JSON.parse(content.subarray(prev, validBytes - 1).toString('utf8'));
    return { last: lastPositionOf(mode, line, (lsn) => parseLsn(lsn)), validBytes };
  }
  const { values, validBytes } = decodeMsgpackRecords(content);
  const lastValue = values[values.length - 1];
  return { last: lastValue === undefined ? null : lastPositionOf(mode, lastValue, parseLsn), validBytes };
}

function lastPositionOf(
  mode: 'events' | 'transactions',
  record: unknown,
  lsnOf: (t: string) => bigint,
): Position | null {
  const r = record as { position?: { lsn: string; index: number }; events?: unknown[] };
  if (mode === 'transactions') {
    const last = r.events?.[r.events.length - 1] as { position: { lsn: string; index: number } } | undefined;
    return last ? { lsn: lsnOf(last.position.lsn), index: last.position.index } : null;
  }
  return r.position ? { lsn: lsnOf(r.position.lsn), index: r.position.index } : null;
}

/**
 * Reads every event of a file (both formats, both modes): for tests, tools and the contract suite. A torn last
 * record (a write cut by a crash, which the sink cuts off when it opens the file again) is left out, as readTail
 * does: it was never acknowledged. JSON Lines in transactions mode are parsed whole, so integers past 2^53 inside
 * json values lose precision there (the file itself holds them exactly).
 */
export function readEvents(format: Format, mode: 'events' | 'transactions', content: Buffer): ChangeEvent[] {
  if (format === 'msgpack') {
    const records = decodeMsgpackRecords(content).values;
    const events = mode === 'transactions' ? records.flatMap((r) => (r as { events: unknown[] }).events) : records;
    return events.map(fromMsgpackObject);
  }
  const lines = content
    .subarray(0, content.lastIndexOf(0x0a) + 1)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  if (mode === 'events') return lines.map(decodeEventJson);
  return lines.flatMap((l) => (JSON.parse(l) as { events: unknown[] }).events.map(eventFromJsonObject));
}
