/**
 * What the reader does on ordinary (non-replication) connections beside the stream: the slot's lag, and the
 * transactional heartbeat that lets an idle database's slot advance.
 */
import type { Logger } from '@walstream/core';
import pg from 'pg';

/** Bytes between the server's current WAL position and the slot's confirmed position (one query). */
export async function slotLag(
  config: pg.ClientConfig,
  slot: string,
): Promise<{ currentLsn: string; confirmedLsn: string | null; bytes: number }> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const r = await client.query<{ cur: string; conf: string | null; bytes: string | null }>(
      `SELECT pg_current_wal_lsn()::text AS cur, confirmed_flush_lsn::text AS conf,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS bytes
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const row = r.rows[0];
    if (row === undefined) {
      const cur = await client.query<{ cur: string }>('SELECT pg_current_wal_lsn()::text AS cur');
      return { currentLsn: (cur.rows[0] as { cur: string }).cur, confirmedLsn: null, bytes: 0 };
    }
    return { currentLsn: row.cur, confirmedLsn: row.conf, bytes: Number(row.bytes ?? 0) };
  } finally {
    await client.end();
  }
}

/** Emits `pg_logical_emit_message(true, prefix, '')` every `intervalMs` on its own connection. */
export async function startHeartbeat(
  config: pg.ClientConfig,
  h: { intervalMs: number; prefix: string },
  log: Logger,
): Promise<{ client: pg.Client; timer: ReturnType<typeof setInterval> }> {
  const client = new pg.Client(config);
  client.on('error', (err) => log.warn('heartbeat connection error', { error: err.message }));
  await client.connect();
  const timer = setInterval(() => {
    client
      .query('SELECT pg_logical_emit_message(true, $1, $2)', [h.prefix, ''])
      .catch((err: Error) => log.warn('heartbeat failed', { error: err.message }));
  }, h.intervalMs);
  timer.unref();
  return { client, timer };
}
