/**
 * WAL file names and the chunk type the physical reader yields. Names follow Postgres' XLogFileName:
 * 8 hex digits timeline, then the segment number split into "log id" and segment-in-log, 8 digits each.
 */
import type { ChangeEvent } from '@walstream/core';
import { ConfigError } from '@walstream/core';

/**
 * One XLogData message of a physical replication stream, shaped as a ChangeEvent (operation MESSAGE) so it
 * travels through core's Pipeline unchanged. `position.lsn` is the END of the bytes (exclusive): confirming
 * it confirms every byte before it. History chunks carry a timeline history file instead of WAL.
 */
export interface WalChunk extends ChangeEvent {
  readonly walKind: 'wal' | 'history';
  /** Timeline the bytes belong to. */
  readonly timeline: number;
  /** First LSN of `bytes` (for history chunks: the switch point of the new timeline). */
  readonly startLsn: bigint;
  /** WAL bytes, or the content of the history file. */
  readonly bytes: Uint8Array;
  /** The server's wal_segment_size in bytes. */
  readonly walSegmentSize: number;
  /** Server system identifier (IDENTIFY_SYSTEM). */
  readonly systemId: string;
}

export function isWalChunk(e: ChangeEvent): e is WalChunk {
  const k = (e as Partial<WalChunk>).walKind;
  return k === 'wal' || k === 'history';
}

const hex8 = (n: number | bigint) => n.toString(16).toUpperCase().padStart(8, '0');

export function segmentsPerId(segSize: number): bigint {
  return 0x100000000n / BigInt(segSize);
}

export function segmentName(timeline: number, segno: bigint, segSize: number): string {
  const per = segmentsPerId(segSize);
  return `${hex8(timeline)}${hex8(segno / per)}${hex8(segno % per)}`;
}

export function historyName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

/** Parses a segment file name (without suffix) into timeline and segment number; null when it is none. */
export function parseSegmentName(name: string, segSize: number): { timeline: number; segno: bigint } | null {
  const m = SEGMENT.exec(name);
  if (!m) return null;
  return {
    timeline: Number.parseInt(m[1] as string, 16),
    segno: BigInt(`0x${m[2]}`) * segmentsPerId(segSize) + BigInt(`0x${m[3]}`),
  };
}

/** Parses `16MB`, `1GB`, `16777216` (SHOW wal_segment_size) into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*(B|kB|MB|GB)?$/.exec(text.trim());
  if (!m) throw new ConfigError('wal_segment_size', `cannot parse ${JSON.stringify(text)}`);
  const mult = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] ?? 'B'] as number;
  return Number(m[1]) * mult;
}

export function segmentStart(lsn: bigint, segSize: number): bigint {
  return lsn - (lsn % BigInt(segSize));
}
