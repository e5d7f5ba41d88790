import type { Row } from '@walstream/core';
import { makeEvent } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import { ChangeWindow, PgSnapshot } from './window.js';

// The chunk was read in a snapshot where xid 900 had not committed yet: its changes win over the copy.
const snapshot = PgSnapshot.parse('850:900:');
const chunkKeys: Row[] = [{ id: 1 }, { id: 2 }, { id: 3 }];
const chunkRows: Row[] = [
  { id: 1, v: 'a', big: 'BIG1' },
  { id: 2, v: 'b', big: 'BIG2' },
  { id: 3, v: 'c', big: 'BIG3' },
];
const update = (id: number, after: Row, unchanged: string[], xid = 900, before: Row | null = null) =>
  makeEvent({ operation: 'UPDATE', transactionId: String(xid), key: { id }, before, after, unchanged });

describe('ChangeWindow: copied rows under live changes', () => {
  it('keeps rows no later transaction touched, drops the ones the stream carries', () => {
    const w = new ChangeWindow(['id']);
    w.record(update(2, { id: 2, v: 'B', big: 'NEW2' }, []));
    w.record(update(3, { id: 3, v: 'C', big: 'BIG3' }, [], 800)); // visible to the chunk: the copy has it
    expect(w.survivors(chunkKeys, chunkRows, snapshot)).toEqual([
      { index: 0, row: chunkRows[0] },
      { index: 2, row: chunkRows[2] },
    ]);
  });

  it('a dropped row whose live UPDATE left a TOAST column unchanged goes out whole: that column from the copy', () => {
    const w = new ChangeWindow(['id']);
    // The stream's UPDATE has no `big` (unchanged TOAST): without the copy's value a new replica never gets it.
    w.record(update(2, { id: 2, v: 'B' }, ['big']));
    expect(w.survivors(chunkKeys, chunkRows, snapshot)).toEqual([
      { index: 0, row: chunkRows[0] },
      { index: 1, row: { id: 2, v: 'B', big: 'BIG2' } },
      { index: 2, row: chunkRows[2] },
    ]);
  });

  it('a value a later UPDATE carried wins over the copy; a delete or an insert needs nothing', () => {
    const w = new ChangeWindow(['id']);
    w.record(update(1, { id: 1, v: 'A1', big: 'NEWER' }, []));
    w.record(update(1, { id: 1, v: 'A2' }, ['big'], 901));
    w.record(makeEvent({ operation: 'DELETE', transactionId: '900', key: { id: 2 }, after: null, before: null }));
    w.record(makeEvent({ operation: 'DELETE', transactionId: '900', key: { id: 3 }, after: null, before: null }));
    w.record(
      makeEvent({ operation: 'INSERT', transactionId: '901', key: { id: 3 }, after: { id: 3, v: 'n', big: 'I' } }),
    );
    // Row 1's last UPDATE left `big` as the one before set it: nothing is missing, the stream has it all.
    expect(w.survivors(chunkKeys, chunkRows, snapshot)).toEqual([]);
  });

  it('a key-changing UPDATE takes the unchanged column from the copy of the old key', () => {
    const w = new ChangeWindow(['id']);
    // As the reader sends it: `key` is the new key, the before image holds the old one.
    w.record(update(7, { id: 7, v: 'moved' }, ['big'], 900, { id: 1 }));
    const out = w.survivors(chunkKeys, chunkRows, snapshot);
    expect(out).toContainEqual({ index: 0, row: { id: 7, v: 'moved', big: 'BIG1' } });
    expect(out.map((o) => o.index)).toEqual([0, 1, 2]);
    expect(out[1]).toEqual({ index: 1, row: chunkRows[1] });
  });
});
