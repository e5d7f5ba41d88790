/**
 * Start-up checks and setup on an ordinary connection, in the order that keeps slots consistent:
 * wal_level, publication (created first when `tables` is given), replica identities, then the slot
 * (inspected; created later on the replication connection when missing).
 */
import { ConfigError, type Logger, type Lsn, parseLsn } from '@walstream/core';
import type pg from 'pg';
import { CREATED_BY_WALSTREAM } from './drop.js';
import {
  PublicationMissingError,
  ReplicaIdentityError,
  SlotActiveError,
  SlotInvalidatedError,
  WalLevelError,
} from './errors.js';
import type { ResolvedReaderOptions } from './options.js';
import { parseTableName, quoteIdent, quoteLiteral } from './sql.js';
import { type PgTypeRow, TYPE_QUERY } from './types/registry.js';

export interface TableInfo {
  schema: string;
  table: string;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  primaryKey: string[];
}

export interface SetupResult {
  serverVersion: number;
  database: string;
  protocolVersion: 1 | 2 | 3 | 4;
  tables: TableInfo[];
  slotExists: boolean;
  confirmedFlush: Lsn | null;
  types: PgTypeRow[];
  /** wal_sender_timeout of this session's settings, in ms (0 = disabled). */
  walSenderTimeoutMs: number;
}

const IDENTITY = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;

export function maxProtocol(serverVersion: number): 1 | 2 | 3 | 4 {
  if (serverVersion >= 160000) return 4;
  if (serverVersion >= 150000) return 3;
  if (serverVersion >= 140000) return 2;
  return 1;
}

export async function setup(client: pg.Client, o: ResolvedReaderOptions, log: Logger): Promise<SetupResult> {
  const info = await client.query<{ wal_level: string; v: string; db: string; wst: string }>(
    `SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num') AS v, current_database() AS db,
            (SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout') AS wst`,
  );
  const row = info.rows[0] as { wal_level: string; v: string; db: string; wst: string };
  if (row.wal_level !== 'logical') throw new WalLevelError(row.wal_level);
  const serverVersion = Number(row.v);
  const supported = maxProtocol(serverVersion);
  if (o.protocolVersion !== undefined && o.protocolVersion > supported) {
    throw new ConfigError(
      'postgres.protocolVersion',
      `server ${serverVersion} supports pgoutput protocol up to ${supported}`,
    );
  }
  if (o.twoPhase && serverVersion < 150000) throw new ConfigError('postgres.twoPhase', 'needs PostgreSQL 15 or later');
  if (o.failover && o.temporarySlot) throw new ConfigError('postgres.failover', 'a temporary slot cannot fail over');
  if (o.failover && serverVersion < 170000) {
    throw new ConfigError('postgres.failover', 'failover slots need PostgreSQL 17 or later');
  }
  if (o.origin === 'none' && serverVersion < 160000) {
    throw new ConfigError('postgres.origin', "'none' needs PostgreSQL 16 or later");
  }

  await ensurePublication(client, o, log);
  const tables = await publishedTables(client, o.publication);
  const pub = await client.query<{ pubupdate: boolean; pubdelete: boolean }>(
    'SELECT pubupdate, pubdelete FROM pg_publication WHERE pubname = $1',
    [o.publication],
  );
  const p = pub.rows[0] as { pubupdate: boolean; pubdelete: boolean };
  // A snapshot-only run reads no stream: no UPDATE or DELETE is ever decoded, so replica identities do not matter
  // (a table it copies needs a primary key, checked by the snapshot itself).
  if ((p.pubupdate || p.pubdelete) && o.snapshot.mode !== 'only') {
    const unusable = tables.filter(
      (t) => t.replicaIdentity === 'nothing' || (t.replicaIdentity === 'default' && t.primaryKey.length === 0),
    );
    if (unusable.length > 0) throw new ReplicaIdentityError(unusable.map((t) => `${t.schema}.${t.table}`));
  }
  for (const t of tables) {
    log.info('published table', { table: `${t.schema}.${t.table}`, replicaIdentity: t.replicaIdentity });
  }

  const slot = await inspectSlot(client, o, row.db);
  const types = await client.query<PgTypeRow>(TYPE_QUERY, [[]]);
  return {
    serverVersion,
    database: row.db,
    protocolVersion: o.protocolVersion ?? supported,
    tables,
    slotExists: slot.exists,
    confirmedFlush: slot.confirmedFlush,
    types: types.rows,
    walSenderTimeoutMs: Number(row.wst) || 0,
  };
}

async function ensurePublication(client: pg.Client, o: ResolvedReaderOptions, log: Logger): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [o.publication]);
  if (o.tables === undefined) {
    if (exists.rowCount === 0) throw new PublicationMissingError(o.publication);
    return;
  }
  const wanted = o.tables.map((t) => {
    try {
      return parseTableName(t);
    } catch (err) {
      throw new ConfigError('postgres.tables', (err as Error).message);
    }
  });
  const missing = await missingTables(client, wanted);
  if (missing.length > 0) {
    throw new ConfigError(
      'postgres.tables',
      `table(s) ${missing.map((t) => `${t.schema}.${t.table}`).join(', ')} do not exist (unquoted names fold to lower case; quote mixed-case names: '"MyTable"')`,
    );
  }
  const list = (ts: { schema: string; table: string }[]) =>
    ts.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(', ');
  if (exists.rowCount === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(o.publication)} FOR TABLE ${list(wanted)}`);
    // Marks it as ours, so dropReplication removes it by default (and never a publication the user made).
    await client.query(`COMMENT ON PUBLICATION ${quoteIdent(o.publication)} IS ${quoteLiteral(CREATED_BY_WALSTREAM)}`);
    log.info('created publication', { publication: o.publication, tables: wanted.length });
    return;
  }
  const have = new Set((await publishedTables(client, o.publication)).map((t) => `${t.schema}\0${t.table}`));
  const unpublished = wanted.filter((t) => !have.has(`${t.schema}\0${t.table}`));
  if (unpublished.length > 0) {
    await client.query(`ALTER PUBLICATION ${quoteIdent(o.publication)} ADD TABLE ${list(unpublished)}`);
    log.info('added tables to publication', { publication: o.publication, tables: unpublished.length });
  }
}

async function missingTables(
  client: pg.Client,
  tables: { schema: string; table: string }[],
): Promise<{ schema: string; table: string }[]> {
  const r = await client.query<{ i: number }>(
    `SELECT i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(s, t, i)
      WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = w.s AND c.relname = w.t AND c.relkind IN ('r', 'p'))`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  return r.rows.map((row) => tables[Number(row.i) - 1] as { schema: string; table: string });
}

/** The publication's tables now (pg_publication_tables), with their replica identity and primary key. */
export async function publishedTables(client: pg.Client, publication: string): Promise<TableInfo[]> {
  const r = await client.query<{ schema: string; table: string; ident: keyof typeof IDENTITY; pk: string[] | null }>(
    `SELECT pt.schemaname AS schema, pt.tablename AS table, c.relreplident::text AS ident,
       (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
     FROM pg_publication_tables pt
     JOIN pg_namespace n ON n.nspname = pt.schemaname
     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     WHERE pt.pubname = $1 ORDER BY 1, 2`,
    [publication],
  );
  return r.rows.map((t) => ({
    schema: t.schema,
    table: t.table,
    replicaIdentity: IDENTITY[t.ident],
    primaryKey: t.pk ?? [],
  }));
}

async function inspectSlot(
  client: pg.Client,
  o: ResolvedReaderOptions,
  database: string,
): Promise<{ exists: boolean; confirmedFlush: Lsn | null }> {
  const r = await client.query<{
    plugin: string;
    database: string;
    active: boolean;
    active_pid: number | null;
    wal_status: string | null;
    confirmed_flush_lsn: string | null;
  }>(
    `SELECT plugin, database, active, active_pid, wal_status, confirmed_flush_lsn::text
       FROM pg_replication_slots WHERE slot_name = $1 AND slot_type = 'logical'`,
    [o.slot],
  );
  const s = r.rows[0];
  if (s === undefined) {
    if (!o.createSlot && !o.temporarySlot) {
      throw new ConfigError('postgres.slot', `replication slot "${o.slot}" does not exist and createSlot is false`);
    }
    return { exists: false, confirmedFlush: null };
  }
  if (s.plugin !== 'pgoutput') {
    throw new ConfigError('postgres.slot', `replication slot "${o.slot}" uses plugin ${s.plugin}, not pgoutput`);
  }
  if (s.database !== database) {
    throw new ConfigError(
      'postgres.slot',
      `replication slot "${o.slot}" belongs to database ${s.database}, not ${database}`,
    );
  }
  if (s.wal_status === 'lost') throw new SlotInvalidatedError(o.slot, 'wal_status = lost');
  if (s.active) throw new SlotActiveError(o.slot, s.active_pid);
  return { exists: true, confirmedFlush: s.confirmed_flush_lsn ? parseLsn(s.confirmed_flush_lsn) : null };
}
