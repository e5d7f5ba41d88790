/**
 * Removes what a reader created on the server: its replication slot (a forgotten permanent slot keeps WAL
 * forever) and, when the reader created it, its publication. Run it when a pipeline is retired for good.
 */
import { ConfigError, parseOptions } from '@walstream/core';
import { v, withConnectReason } from '@walstream/core/internal';
import pg from 'pg';
import { ConnectionError, SlotActiveError } from './errors.js';
import { where } from './replication.js';
import { quoteIdent } from './sql.js';

/** The comment walstream puts on a publication it creates, so `dropReplication` knows it may drop it. */
export const CREATED_BY_WALSTREAM = 'created by walstream';

export interface DropReplicationOptions {
  /** `postgres://user:pass@host:port/db`. Either this or `connection`. */
  connectionString?: string;
  /** node-postgres client settings. */
  connection?: pg.ClientConfig;
  /** The reader's slot. Dropped when it exists; an active slot (a reader still running) is a `SlotActiveError`. */
  slot: string;
  /** The reader's publication. */
  publication?: string;
  /**
   * `'if-created'`: drop the publication only when walstream created it (it carries the comment
   * `created by walstream`); `true`: drop it anyway; `false`: keep it. @default 'if-created'
   */
  dropPublication?: boolean | 'if-created';
}

export interface DropReplicationResult {
  slotDropped: boolean;
  publicationDropped: boolean;
}

const schema = v
  .object({
    connectionString: v.string().min(1).optional(),
    connection: v.record(v.unknown()).optional(),
    slot: v.string().min(1).max(63),
    publication: v.string().min(1).max(63).optional(),
    dropPublication: v.union([v.boolean(), v.literal('if-created')]).optional(),
  })
  .refine((o) => o.connectionString !== undefined || o.connection !== undefined, {
    message: 'give connectionString or connection',
    path: ['connectionString'],
  });

/**
 * Drops the reader's slot and (by default only if walstream created it) its publication. Both steps are
 * idempotent: what is already gone is reported as not dropped.
 *
 * ```ts
 * await dropReplication({ connectionString, slot: 'orders_slot', publication: 'orders_pub' });
 * ```
 */
export async function dropReplication(options: DropReplicationOptions): Promise<DropReplicationResult> {
  const o = parseOptions(schema, options, 'dropReplication') as DropReplicationOptions;
  const config: pg.ClientConfig = { ...(o.connection ?? {}) };
  if (o.connectionString) config.connectionString = o.connectionString;
  const client = new pg.Client(config);
  client.on('error', () => {}); // surfaced by the failing query
  try {
    await client.connect();
  } catch (err) {
    throw new ConnectionError(withConnectReason(`cannot connect to Postgres at ${where(config)}`, err), { cause: err });
  }
  try {
    const slot = await client.query<{ active: boolean; pid: number | null }>(
      'SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
      [o.slot],
    );
    const s = slot.rows[0];
    if (s?.active) throw new SlotActiveError(o.slot, s.pid);
    if (s !== undefined) await client.query('SELECT pg_drop_replication_slot($1)', [o.slot]);
    let publicationDropped = false;
    const mode = o.dropPublication ?? 'if-created';
    if (o.publication !== undefined && mode !== false) {
      const pub = await client.query<{ comment: string | null }>(
        `SELECT obj_description(oid, 'pg_publication') AS comment FROM pg_publication WHERE pubname = $1`,
        [o.publication],
      );
      const p = pub.rows[0];
      if (p !== undefined && (mode === true || p.comment === CREATED_BY_WALSTREAM)) {
        await client.query(`DROP PUBLICATION ${quoteIdent(o.publication)}`);
        publicationDropped = true;
      }
    } else if (o.publication === undefined && mode === true) {
      throw new ConfigError('dropReplication.publication', 'dropPublication: true needs the publication name');
    }
    return { slotDropped: s !== undefined, publicationDropped };
  } finally {
    await client.end().catch(() => {});
  }
}
