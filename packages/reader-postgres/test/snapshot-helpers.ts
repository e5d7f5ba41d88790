/** A replica that applies READ/INSERT/UPDATE/DELETE events by primary key, and a concurrent writer. */
import type { Batch, ChangeEvent, Row, Sink, Value } from '@walstream/core';
import pg from 'pg';
import { sql } from './helpers.js';

const norm = (v: Value | undefined): string => {
  if (v === null || v === undefined) return '<null>';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return `[${v.map(norm).join(',')}]`;
  return String(v);
};

export function rowString(row: Row | Record<string, unknown>, columns: readonly string[]): string {
  return columns.map((c) => norm(row[c] as Value)).join('|');
}

export interface Replica extends Sink {
  readonly rows: Map<string, Row>;
  readonly events: ChangeEvent[];
  keepEvents: boolean;
  /** Resolves once an event of `table` has been applied. */
  seen(table: string): Promise<void>;
}

export function createReplica(table: string, keyColumns: readonly string[]): Replica {
  const rows = new Map<string, Row>();
  const events: ChangeEvent[] = [];
  const waiters = new Map<string, () => void>();
  const k = (r: Row) => keyColumns.map((c) => norm(r[c])).join('|');
  const replica: Replica = {
    name: 'replica',
    rows,
    events,
    keepEvents: false,
    seen: (t) => new Promise<void>((resolve) => waiters.set(t, resolve)),
    async write(batch: Batch) {
      for (const e of batch.events) {
        if (replica.keepEvents) events.push(e);
        waiters.get(e.table)?.();
        if (e.table !== table) continue;
        switch (e.operation) {
          case 'READ':
          case 'INSERT':
          case 'UPDATE': {
            const after = e.after as Row;
            if (e.operation === 'UPDATE' && e.before !== null) {
              const old = k(e.before);
              if (old !== k(after)) rows.delete(old);
            }
            const prev = rows.get(k(after));
            rows.set(k(after), e.unchanged.length > 0 && prev ? { ...prev, ...after } : after);
            break;
          }
          case 'DELETE':
            rows.delete(k((e.key ?? e.before) as Row));
            break;
          case 'TRUNCATE':
            rows.clear();
            break;
          default:
        }
      }
    },
  };
  return replica;
}

/** Source rows as strings, keyed like the replica. */
export async function sourceRows(
  url: string,
  from: string,
  keyColumns: readonly string[],
  columns: readonly string[],
): Promise<Map<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`SELECT * FROM ${from}`);
    const out = new Map<string, string>();
    for (const row of r.rows) out.set(rowString(row, keyColumns), rowString(row, columns));
    return out;
  } finally {
    await c.end();
  }
}

export function replicaRows(
  replica: Replica,
  keyColumns: readonly string[],
  columns: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of replica.rows.values()) out.set(rowString(row, keyColumns), rowString(row, columns));
  return out;
}

/** Differences between two row maps (at most 5 of each kind, for the failure message). */
export function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`source ${k}: ${v} / copy: ${b.get(k) ?? 'missing'}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`copy has extra ${k}`);
  return out.slice(0, 10);
}

/**
 * Small transactions of inserts, updates (some moving the primary key) and deletes on `items (id, v, pad)`
 * (seeded with the even ids 2..200000), half of them aimed at ids from `hot()` on (the rows being copied now);
 * inserts take odd ids there, so they land inside the chunk being copied.
 */
export function startWriter(url: string, hot: () => number, span: number) {
  let running = true;
  let ops = 0;
  let nextId = 10_000_000;
  const done = (async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    while (running) {
      const near = () => Math.max(1, hot() + Math.floor(Math.random() * span));
      const any = () => 2 * (1 + Math.floor(Math.random() * 100_000));
      const pick = () => (Math.random() < 0.5 ? near() : any());
      await c.query('BEGIN');
      await c.query('INSERT INTO items VALUES ($1, 0, $2)', [nextId++, `new-${nextId}`]);
      await c.query('INSERT INTO items VALUES ($1, 0, $2) ON CONFLICT (id) DO NOTHING', [near() | 1, 'odd']);
      await c.query('UPDATE items SET v = v + 1, pad = md5(random()::text) WHERE id = $1', [pick()]);
      await c.query('UPDATE items SET v = v + 1 WHERE id = $1', [pick()]);
      await c.query('DELETE FROM items WHERE id = $1', [pick()]);
      if (Math.random() < 0.2) {
        // Not onto a key an earlier move took (an odd insert may have brought the old key back).
        await c.query(
          'UPDATE items SET id = id + 5000000 WHERE id = $1 AND id < 5000000 AND NOT EXISTS (SELECT 1 FROM items WHERE id = $1::int + 5000000)',
          [pick()],
        );
      }
      await c.query('COMMIT');
      ops++;
    }
    await c.end();
  })();
  return {
    get ops() {
      return ops;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

export const until = async (cond: () => boolean | Promise<boolean>, what: string, tries = 1200) => {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** Drops a test's slot once its walsender is gone: the test clusters have 20 slots for every test file. */
export async function dropSlot(url: string, slot: string): Promise<void> {
  await until(async () => {
    const r = await sql(url, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (r.rowCount === 0) return true;
    if (r.rows[0].active) return false;
    await sql(url, 'SELECT pg_drop_replication_slot($1)', [slot]);
    return true;
  }, `slot ${slot} to be released`);
}
