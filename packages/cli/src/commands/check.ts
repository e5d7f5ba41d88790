/**
 * `walstream check`: a preflight against the real server, printed as a pass/warn/fail table with the fix for
 * each problem. Read-only: it creates nothing.
 */
import { parseTableName, quoteIdent } from '@walstream/reader-postgres';
import pg from 'pg';

export type CheckLevel = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  readonly level: CheckLevel;
  readonly check: string;
  readonly detail: string;
  readonly fix?: string;
}

export interface CheckTarget {
  client: pg.ClientConfig;
  slot: string;
  publication: string;
  /** Tables the pipeline wants (`schema.table`); when absent, those of the publication. */
  tables?: string[];
  /** Whether a snapshot is configured (SELECT grants then matter). @default true */
  snapshot?: boolean;
}

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/** Where the client connects, for messages: host and port only, never the password. */
export function describeTarget(c: pg.ClientConfig): string {
  if (c.connectionString) {
    try {
      const u = new URL(c.connectionString);
      return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
    } catch {
      return 'the configured server';
    }
  }
  return `${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
}

export async function runChecks(t: CheckTarget): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (level: CheckLevel, check: string, detail: string, fix?: string) =>
    out.push({ level, check, detail, ...(fix ? { fix } : {}) });
  const client = new pg.Client({ ...t.client, application_name: 'walstream-check' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    add(
      'fail',
      'connect',
      `cannot connect to ${describeTarget(t.client)} (${e.code ?? 'error'})`,
      'check host, port, user, password and pg_hba.conf',
    );
    return out;
  }
  try {
    const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
      (await client.query<R>(sql, params)).rows;
    const [s] = await q<Record<string, string>>(`SELECT current_setting('wal_level') AS wal_level,
      current_setting('max_replication_slots')::int AS max_slots, current_setting('max_wal_senders')::int AS max_senders,
      current_setting('server_version_num')::int AS version, current_user AS who, current_database() AS db,
      (SELECT count(*) FROM pg_replication_slots)::int AS slots_used,
      (SELECT count(*) FROM pg_stat_replication)::int AS senders_used,
      COALESCE(current_setting('max_slot_wal_keep_size', true), '-1') AS keep_size`);
    const set = s as Record<string, string | number>;
    add('pass', 'connect', `connected to ${describeTarget(t.client)} as ${set.who}, PostgreSQL ${set.version}`);

    if (set.wal_level === 'logical') add('pass', 'wal_level', 'logical');
    else
      add(
        'fail',
        'wal_level',
        `is ${set.wal_level}, logical replication needs logical`,
        'ALTER SYSTEM SET wal_level = logical; then restart Postgres',
      );

    const [slotRow] = await q<{
      active: boolean;
      wal_status: string | null;
      retained: string | null;
      plugin: string | null;
      slot_type: string;
      database: string | null;
    }>(
      `SELECT active, wal_status, plugin, slot_type, database,
        pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained FROM pg_replication_slots WHERE slot_name = $1`,
      [t.slot],
    );
    const freeSlots = Number(set.max_slots) - Number(set.slots_used);
    if (slotRow || freeSlots > 0) add('pass', 'max_replication_slots', `${set.slots_used} of ${set.max_slots} used`);
    else
      add(
        'fail',
        'max_replication_slots',
        `all ${set.max_slots} slots are used and ${t.slot} does not exist`,
        'raise max_replication_slots (restart) or drop an unused slot',
      );
    const freeSenders = Number(set.max_senders) - Number(set.senders_used);
    if (freeSenders > 0) add('pass', 'max_wal_senders', `${set.senders_used} of ${set.max_senders} in use`);
    else
      add(
        'fail',
        'max_wal_senders',
        `all ${set.max_senders} WAL senders are in use`,
        'raise max_wal_senders (restart)',
      );

    const [role] = await q<{ rolreplication: boolean; rolsuper: boolean }>(
      'SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    const [rdsRole] = await q<{ member: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication' AND pg_has_role(current_user, oid, 'member')) AS member`,
    );
    if (role?.rolreplication || role?.rolsuper || rdsRole?.member)
      add('pass', 'REPLICATION privilege', `${set.who} may start replication`);
    else
      add(
        'fail',
        'REPLICATION privilege',
        `${set.who} lacks REPLICATION`,
        `ALTER ROLE ${quoteIdent(String(set.who))} REPLICATION;`,
      );

    const [pub] = await q<{ puballtables: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean }>(
      'SELECT puballtables, pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1',
      [t.publication],
    );
    const published = pub
      ? await q<{ schemaname: string; tablename: string }>(
          'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
          [t.publication],
        )
      : [];
    const publishedSet = new Set(published.map((r) => `${r.schemaname}.${r.tablename}`));
    const wantedNames = t.tables?.map((x) => parseTableName(x));
    const wanted = wantedNames?.map((p) => `${p.schema}.${p.table}`);
    if (!pub) {
      if (wanted?.length)
        add(
          'warn',
          'publication',
          `${t.publication} does not exist; the reader creates it for ${wanted.length} table(s) on start`,
          'needs CREATE on the database and ownership of the tables; or create it yourself',
        );
      else
        add(
          'fail',
          'publication',
          `${t.publication} does not exist and no tables are configured`,
          `CREATE PUBLICATION ${quoteIdent(t.publication)} FOR TABLE ...;`,
        );
    } else {
      const missing = (wanted ?? []).filter((w) => !publishedSet.has(w));
      if (missing.length === 0)
        add(
          'pass',
          'publication',
          `${t.publication} publishes ${publishedSet.size} table(s)${pub.puballtables ? ' (all tables)' : ''}`,
        );
      else
        add(
          'warn',
          'publication',
          `${t.publication} lacks ${missing.join(', ')}; the reader adds them on start`,
          `ALTER PUBLICATION ${quoteIdent(t.publication)} ADD TABLE ...;`,
        );
    }

    // Parsed once: `schema.table` joined back would lose the quoting of a name like "Audit Log".
    const tables = wantedNames ?? published.map((r) => ({ schema: r.schemaname, table: r.tablename }));
    for (const p of tables) {
      const [rel] = await q<{ oid: number; relreplident: string; haspk: boolean; canselect: boolean }>(
        `SELECT c.oid::int AS oid, c.relreplident::text AS relreplident,
          EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS haspk,
          has_table_privilege(c.oid, 'SELECT') AS canselect
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [p.schema, p.table],
      );
      const label = `table ${p.schema}.${p.table}`;
      if (!rel) {
        add('fail', label, 'does not exist', 'create it, or fix the name in `tables` (unquoted names are lower case)');
        continue;
      }
      const ident = { d: 'default', n: 'nothing', f: 'full', i: 'index' }[rel.relreplident] ?? rel.relreplident;
      const qualified = `${quoteIdent(p.schema)}.${quoteIdent(p.table)}`;
      if (ident === 'nothing' || (ident === 'default' && !rel.haspk)) {
        add(
          'fail',
          `${label} replica identity`,
          `${ident}${rel.haspk ? '' : ', no primary key'}: UPDATE and DELETE cannot be replicated`,
          `ALTER TABLE ${qualified} REPLICA IDENTITY FULL; (or add a primary key)`,
        );
      } else {
        add('pass', `${label} replica identity`, ident === 'default' ? 'default (primary key)' : ident);
      }
      if (t.snapshot !== false) {
        if (rel.canselect) add('pass', `${label} SELECT`, 'granted (snapshots can read it)');
        else
          add(
            'fail',
            `${label} SELECT`,
            `${set.who} cannot read it, so snapshots would fail`,
            `GRANT SELECT ON ${qualified} TO ${quoteIdent(String(set.who))};`,
          );
      }
    }

    if (!slotRow) add('pass', 'slot', `${t.slot} does not exist yet; created on first start`);
    else if (slotRow.slot_type !== 'logical' || slotRow.plugin !== 'pgoutput')
      add(
        'fail',
        'slot',
        `${t.slot} is a ${slotRow.slot_type} slot (${slotRow.plugin ?? 'no plugin'})`,
        'choose another slot name or drop it',
      );
    else if (slotRow.database !== set.db)
      add('fail', 'slot', `${t.slot} belongs to database ${slotRow.database}`, 'choose another slot name');
    else if (slotRow.wal_status === 'lost')
      add(
        'fail',
        'slot',
        `${t.slot} was invalidated (wal_status lost): changes were lost`,
        `walstream drop, then start again with a snapshot`,
      );
    else {
      const retained = Number(slotRow.retained ?? 0);
      const level = retained > 1024 ** 3 ? 'warn' : 'pass';
      add(
        level,
        'slot',
        `${t.slot} ${slotRow.active ? 'active (in use now)' : 'inactive'}, retains ${mib(retained)}, wal_status ${slotRow.wal_status ?? 'n/a'}`,
        level === 'warn' ? 'let the pipeline catch up, or drop the slot if nobody uses it' : undefined,
      );
      if (slotRow.active)
        add(
          'warn',
          'slot in use',
          `${t.slot} is held by another connection`,
          'stop the other consumer first (only one reader per slot)',
        );
    }

    const keep = String(set.keep_size);
    if (keep === '-1')
      add(
        'warn',
        'max_slot_wal_keep_size',
        'unlimited: a forgotten slot keeps WAL until the disk is full',
        "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();",
      );
    else add('pass', 'max_slot_wal_keep_size', keep.endsWith('B') ? keep : gib(Number(keep) * 1024 * 1024));
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The table as a person reads it: level, check, detail, and the fix under failing rows. */
export function formatChecks(results: readonly CheckResult[], color: boolean): string {
  const tag = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
  const paint = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' } as const;
  const width = Math.min(40, Math.max(...results.map((r) => r.check.length)));
  const lines = results.map((r) => {
    const level = color ? `${paint[r.level]}${tag[r.level]}\x1b[0m` : tag[r.level];
    const fix = r.fix && r.level !== 'pass' ? `\n       ${' '.repeat(width)}  fix: ${r.fix}` : '';
    return `${level}   ${r.check.padEnd(width)}  ${r.detail}${fix}`;
  });
  const n = (l: CheckLevel) => results.filter((r) => r.level === l).length;
  return `${lines.join('\n')}\n\nchecks: ${n('pass')} pass, ${n('warn')} warn, ${n('fail')} fail\n`;
}
