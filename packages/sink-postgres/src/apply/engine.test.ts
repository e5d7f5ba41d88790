import { type Batch, type ChangeEvent, silentLogger } from '@walstream/core';
import { commitOf, makeEvent } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import type { Dialect, TargetColumn, TargetTable } from './dialect.js';
import { ApplyEngine } from './engine.js';
import { ApplyError, ApplyErrorReason } from './errors.js';
import { resolveCommon } from './options.js';

/** A target that records statements; a plain INSERT of a key in `existing` fails as a duplicate. */
function fakeTarget(existing: Set<unknown>) {
  const calls: unknown[][] = [];
  const column = (name: string): TargetColumn => ({ name, dataType: 'text', precision: null, scale: null });
  const dup = Object.assign(new Error('duplicate key'), { code: 'DUP' });
  const d: Dialect = {
    kind: 'fake',
    maxIdentifierLength: 63,
    transactionalDdl: true,
    connect: async () => {},
    reset: async () => {},
    close: async () => {},
    defaultNamespace: (s) => s,
    checkIdentifier: () => {},
    quote: (n) => n,
    begin: async () => void calls.push(['begin']),
    rollback: async () => void calls.push(['rollback']),
    ensureCheckpointTable: async () => {},
    readCheckpoint: async () => null,
    commitWithCheckpoint: async (_t, _p, _s, position) => void calls.push(['commit', position]),
    describeTable: async (namespace, name) => ({
      namespace,
      name,
      columns: new Map([
        ['id', column('id')],
        ['a', column('a')],
      ]),
      key: ['id'],
      ordered: false,
    }),
    columnType: () => 'text',
    createTable: async () => {},
    addColumn: async () => {},
    dropColumn: async () => {},
    alterColumnType: async () => {},
    upsert: async (t: TargetTable, _c, _u, rows) => {
      calls.push(['upsert', t.name, rows.map((r) => r[0])]);
      if (rows.some((r) => r[0] === 'upsert-dup')) throw dup;
    },
    insert: async (t: TargetTable, _c, rows) => {
      calls.push(['insert', t.name, rows.map((r) => r[0])]);
      if (rows.some((r) => existing.has(r[0]))) throw dup;
    },
    isDuplicateKey: (err) => (err as { code?: unknown }).code === 'DUP',
    deleteKeys: async () => {},
    deleteAll: async () => {},
    updateByKey: async () => 1,
    convert: (_c, v) => v,
    isRetriable: () => false,
  };
  return { d, calls };
}

function txn(lsn: bigint, rows: [string, unknown][]): Batch {
  const events: ChangeEvent[] = rows.map(([table, id], index) =>
    makeEvent({ lsn, index, table, after: { id: id as never, a: 'x' }, key: { id: id as never } }),
  );
  return { seq: Number(lsn), events, commits: [commitOf(lsn, rows.length)], schemaChanges: [], bytes: 0 };
}

async function engineOn(d: Dialect) {
  const engine = new ApplyEngine(d, resolveCommon({}, 'fake'), { tables: {}, namespaces: {} });
  await engine.open({ pipeline: 'p', logger: silentLogger, signal: new AbortController().signal });
  return engine;
}

describe('ApplyEngine plain INSERTs', () => {
  it('redoes a transaction with upserts when a plain INSERT meets an existing key, and keeps that table on upserts', async () => {
    const { d, calls } = fakeTarget(new Set(['k1']));
    const engine = await engineOn(d);
    await engine.write(
      txn(0x100n, [
        ['t', 'k1'],
        ['t', 'k2'],
        ['other', 'o1'],
      ]),
    );
    expect(calls).toEqual([
      ['begin'],
      // The fake awaits each statement, as mysql2 does: the failed INSERT is the last statement sent.
      ['insert', 't', ['k1', 'k2']],
      ['rollback'],
      ['begin'],
      ['upsert', 't', ['k1', 'k2']],
      ['upsert', 'other', ['o1']],
      ['commit', '0/100:2'],
    ]);
    expect(engine.position).toEqual({ lsn: 0x100n, index: 2 });
    calls.length = 0;
    await engine.write(
      txn(0x200n, [
        ['t', 'k3'],
        ['other', 'o2'],
      ]),
    );
    expect(calls).toEqual([['begin'], ['upsert', 't', ['k3']], ['insert', 'other', ['o2']], ['commit', '0/200:1']]);
  });

  it('reports a duplicate that no plain INSERT caused, without a redo', async () => {
    const { d, calls } = fakeTarget(new Set());
    const engine = await engineOn(d);
    await expect(engine.write(txn(0x100n, [['t', 'upsert-dup']]))).resolves.toBeUndefined();
    calls.length = 0;
    // A key the target holds, updated: an upsert that fails as a duplicate (a secondary unique index).
    const update = txn(0x200n, [['t', 'upsert-dup']]);
    (update.events[0] as { operation: string }).operation = 'UPDATE';
    await expect(engine.write(update)).rejects.toThrow(/duplicate key/);
    expect(calls).toEqual([['begin'], ['upsert', 't', ['upsert-dup']], ['rollback']]);
    expect(engine.position).toEqual({ lsn: 0x100n, index: 0 });
  });
});

describe('ApplyEngine and a fresh replication slot', () => {
  const open = async (checkpoint: string | null, source: { slotCreated: boolean; temporary?: boolean } | null) => {
    const { d } = fakeTarget(new Set());
    let closed = 0;
    d.readCheckpoint = async () => checkpoint;
    d.close = async () => void closed++;
    const engine = new ApplyEngine(d, resolveCommon({}, 'fake'), { tables: {}, namespaces: {} });
    const ctx = { pipeline: 'p', logger: silentLogger, signal: new AbortController().signal, source: () => source };
    const outcome = await engine.open(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    return { outcome, closed };
  };

  it('refuses to open over a checkpoint when the slot is created in this start, and drops its connection', async () => {
    const { outcome, closed } = await open('0/5000:3', { slotCreated: true });
    expect(outcome).toBeInstanceOf(ApplyError);
    expect(outcome).toMatchObject({ reason: ApplyErrorReason.Checkpoint, retriable: false });
    expect((outcome as Error).message).toMatch(/replication slot is missing.*holds position 0\/5000:3 for pipeline p/);
    expect((outcome as Error).message).toMatch(/delete its checkpoint row/);
    expect(closed).toBe(1);
  });

  it('opens on a first run (no checkpoint), over an existing slot, with a temporary slot, or when the reader says nothing', async () => {
    expect((await open(null, { slotCreated: true })).outcome).toBeNull();
    expect((await open('0/5000:3', { slotCreated: false })).outcome).toBeNull();
    expect((await open('0/5000:3', { slotCreated: true, temporary: true })).outcome).toBeNull();
    expect((await open('0/5000:3', null)).outcome).toBeNull();
  });
});
