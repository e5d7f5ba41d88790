/**
 * `walstream status` and `walstream drop`: what the server holds for a pipeline (its slot and publication),
 * and removing it. A forgotten permanent slot keeps WAL forever, so dropping is one command.
 */
import { quoteIdent } from '@walstream/reader-postgres';
import pg from 'pg';
import { type MonitorConfig, monitorSchema } from '../config/schema.js';
import { readSlot, type SlotReport } from '../service/slot-monitor.js';

export interface SourceStatus {
  slot: SlotReport;
  publication: { exists: boolean; tables: string[] };
  /** The service's own view, when a running service answered on --url. */
  service?: unknown;
}

async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...config, application_name: 'walstream-cli' });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function sourceStatus(
  config: pg.ClientConfig,
  slot: string,
  publication: string,
  monitor?: MonitorConfig,
): Promise<SourceStatus> {
  return withClient(config, async (c) => {
    const report = await readSlot(c, slot, monitor ?? monitorSchema.parse({}));
    const pub = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
    const tables = await c.query<{ t: string }>(
      `SELECT format('%s.%s', schemaname, tablename) AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
      [publication],
    );
    return { slot: report, publication: { exists: (pub.rowCount ?? 0) > 0, tables: tables.rows.map((r) => r.t) } };
  });
}

export interface DropResult {
  slotDropped: boolean;
  publicationDropped: boolean;
}

/**
 * Drops the slot (refusing while a connection uses it) and, when `publication` is true, the publication.
 * Idempotent: what is already gone is reported as not dropped.
 */
export function dropSource(config: pg.ClientConfig, slot: string, publication: string | null): Promise<DropResult> {
  return withClient(config, async (c) => {
    const s = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    let slotDropped = false;
    if (s.rows[0]?.active) throw new Error(`slot ${slot} is in use by a running consumer: stop it first`);
    if (s.rows[0]) {
      await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
      slotDropped = true;
    }
    let publicationDropped = false;
    if (publication !== null) {
      const p = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
      if ((p.rowCount ?? 0) > 0) {
        await c.query(`DROP PUBLICATION ${quoteIdent(publication)}`);
        publicationDropped = true;
      }
    }
    return { slotDropped, publicationDropped };
  });
}
