/**
 * A workload generator for fault tests: transactions on a table `(id int primary key, seq int, payload text,
 * sha text)` where every write of a key bumps its `seq` and `sha` is the SHA-256 of the payload (so a torn or
 * mixed-up row is visible). It logs every committed transaction: its xid, the WAL insert position right after the
 * commit (an upper bound of the commit LSN) and the `(id, seq)` versions it wrote. Nothing is logged for a
 * transaction whose COMMIT did not return.
 *
 * ```ts
 * const w = await createWorkload({ connectionString: url, table: 'w' });
 * await w.createTable();
 * w.start({ keys: 200, rowsPerTx: 3 });   // small transactions until stop()
 * await w.stop();
 * await w.multiRow(50);                    // one statement, 50 rows: one shared commit LSN
 * await w.close();
 * ```
 */
import pg from 'pg';

export interface CommittedTx {
  /** The 32-bit transaction id, as the change events carry it. */
  xid: string;
  /** pg_current_wal_insert_lsn() right after COMMIT (>= the commit LSN), as text `X/Y`. */
  lsnAfterCommit: string;
  rows: { id: number; seq: number }[];
}

export interface WorkloadOptions {
  connectionString: string;
  /** Table name (unquoted, lower case). @default 'w' */
  table?: string;
}

export interface Workload {
  readonly table: string;
  /** Every committed transaction, in commit order. */
  readonly committed: readonly CommittedTx[];
  /** Every committed version `id:seq`. */
  versions(): Set<string>;
  createTable(): Promise<void>;
  /** One transaction writing the given keys (distinct); each gets seq 0 if new, else seq + 1. */
  tx(ids: number[], payloadRepeat?: number): Promise<CommittedTx>;
  /** One multi-row INSERT of `n` new keys starting above every key so far: all its rows share one commit LSN. */
  multiRow(n: number): Promise<CommittedTx>;
  /** Runs small transactions on random keys until stop(); `pauseMs` between them. */
  start(opts?: { keys?: number; rowsPerTx?: number; pauseMs?: number }): void;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function createWorkload(options: WorkloadOptions): Promise<Workload> {
  const table = options.table ?? 'w';
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`workload table must be a plain lower-case name: ${table}`);
  const client = new pg.Client({ connectionString: options.connectionString });
  await client.connect();
  // A server crash is a scenario here, not a test failure: the next query reports it.
  client.on('error', () => {});
  const committed: CommittedTx[] = [];
  let nextNew = 1_000_000;
  let loop: Promise<void> | null = null;
  let running = false;
  let queue: Promise<unknown> = Promise.resolve();

  // One client, so transactions are serialised through a queue.
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => {});
    return p;
  };

  const run = (body: string, params: unknown[]) =>
    serial(async () => {
      await client.query('BEGIN');
      try {
        const x = await client.query<{ xid: string }>('SELECT (txid_current() % 4294967296)::text AS xid');
        const r = await client.query<{ id: number; seq: number }>(body, params);
        await client.query('COMMIT');
        const l = await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l');
        const tx: CommittedTx = {
          xid: (x.rows[0] as { xid: string }).xid,
          lsnAfterCommit: (l.rows[0] as { l: string }).l,
          rows: r.rows.map((row) => ({ id: row.id, seq: row.seq })),
        };
        committed.push(tx);
        return tx;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });

  const upsert = `INSERT INTO ${table} AS w (id, seq, payload, sha)
    SELECT s.id, 0, s.p, encode(sha256(convert_to(s.p, 'UTF8')), 'hex')
      FROM (SELECT i AS id, repeat(md5(random()::text), $2::int) AS p FROM unnest($1::int[]) AS i) s
    ON CONFLICT (id) DO UPDATE SET seq = w.seq + 1, payload = excluded.payload, sha = excluded.sha
    RETURNING id, seq`;

  const w: Workload = {
    table,
    committed,
    versions() {
      const s = new Set<string>();
      for (const tx of committed) for (const r of tx.rows) s.add(`${r.id}:${r.seq}`);
      return s;
    },
    async createTable() {
      await client.query(
        `CREATE TABLE ${table} (id int PRIMARY KEY, seq int NOT NULL, payload text NOT NULL, sha text NOT NULL)`,
      );
    },
    tx(ids, payloadRepeat = 1) {
      return run(upsert, [ids, payloadRepeat]);
    },
    multiRow(n) {
      const first = nextNew;
      nextNew += n;
      return run(upsert, [Array.from({ length: n }, (_, i) => first + i), 1]);
    },
    start(opts = {}) {
      const keys = opts.keys ?? 200;
      const per = Math.min(opts.rowsPerTx ?? 3, keys);
      running = true;
      loop = (async () => {
        while (running) {
          const ids = new Set<number>();
          while (ids.size < per) ids.add(1 + Math.floor(Math.random() * keys));
          await w.tx([...ids]);
          if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      loop = null;
    },
    async close() {
      await w.stop();
      await client.end();
    },
  };
  return w;
}
