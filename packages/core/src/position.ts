/**
 * A Position orders every event of the stream: the commit LSN of its transaction plus its ordinal inside
 * that transaction. Several events share a commit LSN (multi-row INSERT, COPY), so the index matters.
 */
import { ConfigError } from './errors.js';
import { formatLsn, type Lsn, parseLsn } from './lsn.js';

export interface Position {
  /** Commit LSN of the transaction (pgoutput Begin's final_lsn). */
  readonly lsn: Lsn;
  /** Ordinal of the event inside its transaction, from 0. */
  readonly index: number;
}

export function comparePositions(a: Position, b: Position): number {
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return a.index - b.index;
}

/** The stable event id: `X/Y:index`. Every sink uses it as its idempotency key. */
export function positionId(p: Position): string {
  return `${formatLsn(p.lsn)}:${p.index}`;
}

export function parsePositionId(id: string): Position {
  const colon = id.lastIndexOf(':');
  const index = Number(id.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(index) || index < 0) {
    throw new ConfigError('id', 'expected X/Y:index');
  }
  return { lsn: parseLsn(id.slice(0, colon)), index };
}

export function positionToJSON(p: Position): { lsn: string; index: number } {
  return { lsn: formatLsn(p.lsn), index: p.index };
}

export function positionFromJSON(v: { lsn: string; index: number }): Position {
  return { lsn: parseLsn(v.lsn), index: v.index };
}
