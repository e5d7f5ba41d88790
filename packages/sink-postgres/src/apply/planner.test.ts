import { describe, expect, it } from 'vitest';
import type { Dialect, TargetTable } from './dialect.js';
import { keyString, plannedRow, TablePlan } from './planner.js';

const table: TargetTable = { namespace: 'n', name: 't', columns: new Map(), key: ['id'], ordered: false };

/** Records the statements a flush issues. */
function recorder() {
  const calls: unknown[] = [];
  const d = {
    async deleteAll() {
      calls.push(['deleteAll']);
    },
    async deleteKeys(_t: TargetTable, keys: unknown[][]) {
      calls.push(['delete', keys]);
    },
    async upsert(_t: TargetTable, columns: string[], update: string[], rows: unknown[][]) {
      calls.push(['upsert', columns, update, rows]);
    },
    async insert(_t: TargetTable, columns: string[], rows: unknown[][]) {
      calls.push(['insert', columns, rows]);
    },
  } as unknown as Dialect;
  return { d, calls };
}
const row = (cols: Record<string, unknown>, full = true) => plannedRow(Object.keys(cols), Object.values(cols), full);
const k = (id: number) => keyString([id]);

describe('TablePlan folding', () => {
  it('a later full row replaces, a later partial row merges (unchanged columns stay absent)', async () => {
    const p = new TablePlan(table);
    p.write(k(1), [1], row({ id: 1, a: 'x', big: 'toast' }));
    p.write(k(1), [1], row({ id: 1, a: 'y' }, false));
    p.write(k(2), [2], row({ id: 2, a: 'z' }, false));
    const { d, calls } = recorder();
    await p.flush(d, 512);
    expect(calls).toEqual([
      ['upsert', ['id', 'a', 'big'], ['a', 'big'], [[1, 'y', 'toast']]],
      ['upsert', ['id', 'a'], ['a'], [[2, 'z']]],
    ]);
  });

  it('delete then insert of one key deletes first; TRUNCATE drops what came before it', async () => {
    const p = new TablePlan(table);
    p.write(k(1), [1], row({ id: 1, a: 'old' }));
    p.delete(k(1), [1]);
    p.write(k(1), [1], row({ id: 1, a: 'new' }));
    p.delete(k(3), [3]);
    const { d, calls } = recorder();
    await p.flush(d, 512);
    expect(calls).toEqual([
      ['delete', [[1], [3]]],
      ['upsert', ['id', 'a'], ['a'], [[1, 'new']]],
    ]);
    p.write(k(5), [5], row({ id: 5, a: 'gone' }));
    p.truncateAll();
    p.write(k(6), [6], row({ id: 6, a: 'kept' }));
    const r2 = recorder();
    await p.flush(r2.d, 512);
    expect(r2.calls).toEqual([['deleteAll'], ['upsert', ['id', 'a'], ['a'], [[6, 'kept']]]]);
  });

  it('splits rows into power-of-two statements', async () => {
    const p = new TablePlan(table);
    for (let i = 0; i < 13; i++) p.write(k(i), [i], row({ id: i }));
    const { d, calls } = recorder();
    await p.flush(d, 4);
    expect(calls.map((c) => ((c as unknown[])[3] as unknown[]).length)).toEqual([4, 4, 4, 1]);
    expect((calls[0] as unknown[])[2]).toEqual([]);
  });

  it('keeps keys of different types apart', () => {
    expect(keyString([1])).not.toBe(keyString(['1']));
    expect(keyString([1])).not.toBe(keyString([1n]));
    expect(keyString(['b01;'])).not.toBe(keyString([Buffer.from([1])]));
    expect(keyString([true])).not.toBe(keyString(['true']));
    expect(keyString([null])).not.toBe(keyString(['n;']));
    expect(keyString([Buffer.from([1])])).not.toBe(keyString(['01']));
    expect(keyString(['a', 'b'])).not.toBe(keyString(['a;b']));
  });

  it('sends rows whose key starts in the plan as new (INSERT, READ, after a delete) as plain INSERTs when asked', async () => {
    const p = new TablePlan(table);
    p.insert(k(1), [1], row({ id: 1, a: 'new' }));
    p.write(k(1), [1], row({ id: 1, a: 'newer' }, false));
    p.write(k(2), [2], row({ id: 2, a: 'updated' }));
    p.insert(k(2), [2], row({ id: 2, a: 'reinserted' }));
    p.delete(k(3), [3]);
    p.insert(k(3), [3], row({ id: 3, a: 'after delete' }));
    const { d, calls } = recorder();
    await p.flush(d, 512, true);
    expect(p.inserts).toBe(1);
    expect(calls).toEqual([
      ['delete', [[3]]],
      [
        'insert',
        ['id', 'a'],
        [
          [1, 'newer'],
          [3, 'after delete'],
        ],
      ],
      // Key 2 began with an UPDATE: the target holds it, so it stays an upsert.
      ['upsert', ['id', 'a'], ['a'], [[2, 'reinserted']]],
    ]);
    p.insert(k(4), [4], row({ id: 4, a: 'x' }));
    const r2 = recorder();
    await p.flush(r2.d, 512, false);
    expect(p.inserts).toBe(1);
    expect(r2.calls).toEqual([['upsert', ['id', 'a'], ['a'], [[4, 'x']]]]);
  });
});
