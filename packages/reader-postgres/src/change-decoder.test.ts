/** The decoder against pgoutput frames captured from real servers (test/fixtures, see capture-fixtures.ts). */
import { readFileSync } from 'node:fs';
import { type ChangeEvent, RawJson, type ReaderItem, type SchemaChange, type TransactionCommit } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { ChangeDecoder, type TransactionEnd } from './change-decoder.js';
import { TypeRegistry } from './types/registry.js';

function decodeFixture(file: string): { items: ReaderItem[]; ends: TransactionEnd[]; decoder: ChangeDecoder } {
  const frames = readFileSync(new URL(`../test/fixtures/${file}`, import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((h) => Buffer.from(h, 'hex'));
  const decoder = new ChangeDecoder(new TypeRegistry(), {
    database: 'fx',
    messages: true,
    heartbeatPrefix: 'walstream.heartbeat',
    streamMemoryBytes: 16 * 1024, // small: the streamed transaction spills
    spillDir: undefined,
    primaryKeys: new Map([['public.audit', ['id']]]),
  });
  const ends: TransactionEnd[] = [];
  decoder.onTransactionEnd = (e) => ends.push(e);
  const items: ReaderItem[] = [];
  const out: ReaderItem[] = [];
  for (const f of frames) {
    const lazy = decoder.handle(f, 25, f.length, out);
    items.push(...out);
    out.length = 0;
    if (lazy) for (const i of lazy) items.push(i);
  }
  return { items, ends, decoder };
}

const isEvent = (i: ReaderItem): i is ChangeEvent => (i as { kind?: string }).kind === undefined;

describe.each([
  ['pg18-proto4.frames', 4],
  ['pg15-proto3.frames', 3],
  ['pg15-proto1.frames', 1],
])('ChangeDecoder on %s', (file, proto) => {
  const { items, ends, decoder } = decodeFixture(file);
  const events = items.filter(isEvent);
  const rows = events.filter((e) => e.operation !== 'MESSAGE');

  it('decodes rows with keys, before images and exact values', () => {
    const [ins1, ins2, upd1, upd2, del] = rows;
    expect(ins1?.after).toMatchObject({
      id: 1,
      name: 'a',
      big: 9223372036854775807n,
      price: '1.50',
      tags: ['x', 'y z', null],
      m: 'happy',
      doc: new RawJson('{"n": 12345678901234567890}'),
    });
    expect(ins1?.after?.body).toHaveLength(5000);
    expect(ins2?.after).toMatchObject({ id: 2, name: null, tags: [], m: 'sad' });
    expect(ins2?.position).toEqual({ lsn: ins1?.position.lsn, index: 1 });
    expect(upd1?.unchanged).toEqual(['body']); // TOAST not re-sent
    expect(upd1?.after).not.toHaveProperty('body');
    expect(upd2?.before).toEqual({ id: 2 });
    expect(upd2?.key).toEqual({ id: 20 });
    expect(del?.before).toEqual({ id: 20 });
  });

  it('gives REPLICA IDENTITY FULL the old row and the primary key', () => {
    const audit = rows.filter((e) => e.table === 'audit').slice(0, 3);
    expect(audit.map((e) => e.operation)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    expect(audit[1]?.before).toEqual({ id: 1, note: 'x' });
    expect(audit[1]?.key).toEqual({ id: 1 });
    expect(audit[2]?.before).toEqual({ id: 1, note: 'y' });
  });

  it('delivers messages, and a schema change before the first row in the new shape', () => {
    const msgs = events
      .filter((e) => e.operation === 'MESSAGE')
      .map((e) => Buffer.from(e.message?.content as Uint8Array).toString());
    expect(msgs).toEqual(['hello', 'non-transactional', 'end']);
    const i = items.findIndex((x) => isEvent(x) && x.after?.note === 'shape');
    const change = items[i - 1] as SchemaChange;
    expect(change.kind).toBe('schema');
    expect(change.schema.columns.map((c) => c.name)).toEqual(['id', 'note', 'extra']);
    expect(change.previous?.columns.map((c) => c.name)).toEqual(['id', 'note']);
  });

  it('delivers the large transaction once, without its rolled-back savepoint', () => {
    const streamed = rows.filter((e) => e.after?.note === 'streamed' || e.after?.note === 'kept');
    expect(streamed).toHaveLength(1002);
    expect(rows.some((e) => e.after?.note === 'gone')).toBe(false);
    expect(new Set(streamed.map((e) => e.position.lsn)).size).toBe(1);
    if (proto >= 2) expect(decoder.streamedTransactions).toBe(1);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('delivers the committed prepared transaction only', () => {
    expect(rows.some((e) => e.after?.id === 4000)).toBe(true);
    expect(rows.some((e) => e.after?.id === 4001)).toBe(false);
    expect(decoder.holdBackLsn).toBeNull();
  });

  it('emits a TRUNCATE per table with its options', () => {
    const t = rows.filter((e) => e.operation === 'TRUNCATE');
    expect(t.map((e) => e.table).sort()).toEqual(['audit', 'items']);
    expect(t[0]?.truncate).toEqual({ cascade: false, restartIdentity: true });
  });

  it('orders positions strictly and ends every transaction with its commit and end LSN', () => {
    for (let k = 1; k < events.length; k++) {
      const a = (events[k - 1] as ChangeEvent).position;
      const b = (events[k] as ChangeEvent).position;
      expect(a.lsn < b.lsn || (a.lsn === b.lsn && a.index < b.index)).toBe(true);
    }
    const commits = items.filter((x): x is TransactionCommit => (x as { kind?: string }).kind === 'commit');
    expect(commits.length).toBe(ends.length);
    for (const [k, c] of commits.entries()) {
      expect(ends[k]?.commitLsn).toBe(c.position.lsn);
      // A non-transactional message is its own unit: its LSN is already the end of its WAL record.
      const end = (ends[k] as TransactionEnd).endLsn;
      expect(c.transactionId === '0' ? end === c.position.lsn : end > c.position.lsn).toBe(true);
    }
    expect(decoder.idle).toBe(true);
  });
});
