/**
 * Where a snapshot remembers how far every sink holds it, so a crash resumes from the last chunk the pipeline
 * acknowledged instead of from zero. The default store is a small table in the source database: the reader
 * already has a connection there, and the checkpoint then lives and dies with the data it describes.
 * It needs CREATE on the table's schema once (or the table created beforehand) and SELECT/INSERT/UPDATE/DELETE
 * on it afterwards; pass your own `SnapshotCheckpointStore` to keep it elsewhere.
 */
import pg from 'pg';
import { parseTableName, quoteIdent } from '../sql.js';
import { SnapshotError } from './errors.js';

/** How far one snapshot got, as every sink holds it. */
export interface SnapshotJobState {
  /** `initial` for the initial snapshot, else the id `requestSnapshot` returned. */
  readonly id: string;
  /** Tables of the snapshot, in copy order, as `{ schema, table }`. */
  readonly tables: readonly { readonly schema: string; readonly table: string }[];
  /** Index in `tables` of the table being copied. */
  readonly tableIndex: number;
  /** Raw text of the last primary key every sink holds in that table (null: none yet). */
  readonly lastKey: readonly string[] | null;
  readonly chunkRows: number;
  readonly done: boolean;
}

/** Persists snapshot checkpoints per replication slot. */
export interface SnapshotCheckpointStore {
  load(slot: string): Promise<SnapshotJobState[]>;
  save(slot: string, state: SnapshotJobState): Promise<void>;
  /** Forgets every snapshot of the slot (a new slot starts from scratch). */
  clear(slot: string): Promise<void>;
  close?(): Promise<void>;
}

export interface PostgresCheckpointStoreOptions {
  /** Where to connect; the reader passes its own connection settings. */
  connection: pg.ClientConfig;
  /** `schema.table` of the checkpoint table, created when missing. @default 'public.walstream_snapshot_checkpoints' */
  table?: string;
}

export const DEFAULT_CHECKPOINT_TABLE = 'public.walstream_snapshot_checkpoints';

/** A checkpoint table in a Postgres database (by default the source database). */
export function createPostgresCheckpointStore(o: PostgresCheckpointStoreOptions): SnapshotCheckpointStore & {
  readonly schema: string;
  readonly table: string;
} {
  const { schema, table } = parseTableName(o.table ?? DEFAULT_CHECKPOINT_TABLE);
  const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  let client: pg.Client | null = null;
  let ready: Promise<pg.Client> | null = null;

  const connect = (): Promise<pg.Client> => {
    ready ??= (async () => {
      const c = new pg.Client(o.connection);
      c.on('error', () => {
        client = null;
        ready = null;
      });
      await c.connect();
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${qualified} (
           slot text NOT NULL, snapshot_id text NOT NULL, state jsonb NOT NULL, done boolean NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (slot, snapshot_id))`,
      );
      client = c;
      return c;
    })().catch((err: unknown) => {
      ready = null;
      throw new SnapshotError(`cannot use the snapshot checkpoint table ${schema}.${table}`, { cause: err });
    });
    return ready;
  };

  return {
    schema,
    table,
    async load(slot) {
      // Reading never creates the table: a reader that never snapshots needs no CREATE privilege.
      const probe = new pg.Client(o.connection);
      await probe.connect();
      try {
        const exists = await probe.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualified]);
        if (exists.rows[0]?.t == null) return [];
      } finally {
        await probe.end().catch(() => {});
      }
      const c = await connect();
      const r = await c.query<{ state: SnapshotJobState }>(
        `SELECT state FROM ${qualified} WHERE slot = $1 ORDER BY updated_at`,
        [slot],
      );
      return r.rows.map((x) => x.state);
    },
    async save(slot, state) {
      const c = await connect();
      await c.query(
        `INSERT INTO ${qualified} (slot, snapshot_id, state, done) VALUES ($1, $2, $3, $4)
           ON CONFLICT (slot, snapshot_id) DO UPDATE SET state = EXCLUDED.state, done = EXCLUDED.done, updated_at = now()`,
        [slot, state.id, JSON.stringify(state), state.done],
      );
    },
    async clear(slot) {
      if ((await this.load(slot)).length === 0) return;
      const c = await connect();
      await c.query(`DELETE FROM ${qualified} WHERE slot = $1`, [slot]);
    },
    async close() {
      const c = client;
      client = null;
      ready = null;
      await c?.end().catch(() => {});
    },
  };
}
