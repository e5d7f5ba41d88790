/**
 * Watches a replication slot from the server's side (pg_replication_slots): WAL it retains, wal_status and
 * safe_wal_size. A slot that nobody advances keeps WAL until the disk fills or max_slot_wal_keep_size
 * invalidates it, so this warns well before either.
 */
import type { Logger } from '@walstream/core';
import pg from 'pg';
import type { MonitorConfig } from '../config/schema.js';

export type LagLevel = 'ok' | 'warning' | 'critical';

export interface SlotReport {
  readonly slot: string;
  readonly exists: boolean;
  readonly active: boolean;
  /** reserved | extended | unreserved | lost (null on servers before 13 or when missing). */
  readonly walStatus: string | null;
  /** Bytes of WAL the slot keeps (current WAL LSN - restart_lsn). */
  readonly retainedBytes: number;
  /** Bytes between the current WAL LSN and what the consumer confirmed. */
  readonly confirmedLagBytes: number;
  /** Bytes that can still be written before the slot is lost; null when unlimited. */
  readonly safeWalSizeBytes: number | null;
  readonly level: LagLevel;
  readonly checkedAt: string;
}

const SLOT_QUERY = `
SELECT s.active, s.wal_status, s.safe_wal_size::text AS safe_wal_size,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS retained,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS confirmed_lag
FROM pg_replication_slots s WHERE s.slot_name = $1`;

export async function readSlot(client: pg.Client, slot: string, monitor: MonitorConfig): Promise<SlotReport> {
  const r = await client.query<{
    active: boolean;
    wal_status: string | null;
    safe_wal_size: string | null;
    retained: string | null;
    confirmed_lag: string | null;
  }>(SLOT_QUERY, [slot]);
  const row = r.rows[0];
  const checkedAt = new Date().toISOString();
  if (!row) {
    return {
      slot,
      exists: false,
      active: false,
      walStatus: null,
      retainedBytes: 0,
      confirmedLagBytes: 0,
      safeWalSizeBytes: null,
      level: 'ok',
      checkedAt,
    };
  }
  const retainedBytes = Number(row.retained ?? 0);
  const level: LagLevel =
    row.wal_status === 'lost' || retainedBytes >= monitor.criticalBytes
      ? 'critical'
      : retainedBytes >= monitor.warnBytes || row.wal_status === 'unreserved'
        ? 'warning'
        : 'ok';
  return {
    slot,
    exists: true,
    active: row.active,
    walStatus: row.wal_status,
    retainedBytes,
    confirmedLagBytes: Number(row.confirmed_lag ?? 0),
    safeWalSizeBytes: row.safe_wal_size === null ? null : Number(row.safe_wal_size),
    level,
    checkedAt,
  };
}

export interface SlotMonitor {
  readonly last: SlotReport | null;
  /** Checks once now (also what the timer does). */
  check(): Promise<SlotReport | null>;
  stop(): Promise<void>;
}

/** Polls the slot every `intervalMs` on its own ordinary connection; logs when the level changes. */
export function startSlotMonitor(opts: {
  client: pg.ClientConfig;
  slot: string;
  monitor: MonitorConfig;
  logger: Logger;
  onReport?: (r: SlotReport) => void;
}): SlotMonitor {
  let client: pg.Client | null = null;
  let last: SlotReport | null = null;
  let stopped = false;
  let running: Promise<SlotReport | null> | null = null;

  const check = (): Promise<SlotReport | null> => {
    running ??= (async () => {
      try {
        if (!client) {
          client = new pg.Client({ ...opts.client, application_name: 'walstream-monitor' });
          client.on('error', () => {
            client = null;
          });
          await client.connect();
        }
        const r = await readSlot(client, opts.slot, opts.monitor);
        if (r.level !== (last?.level ?? 'ok')) {
          const fields = { slot: r.slot, retainedBytes: r.retainedBytes, walStatus: r.walStatus };
          if (r.level === 'ok') opts.logger.info('slot lag back to normal', fields);
          else if (r.level === 'warning')
            opts.logger.warn('slot retains a lot of WAL', { ...fields, warnBytes: opts.monitor.warnBytes });
          else opts.logger.error('slot lag critical', { ...fields, criticalBytes: opts.monitor.criticalBytes });
        }
        last = r;
        opts.onReport?.(r);
        return r;
      } catch (err) {
        opts.logger.warn('slot monitor query failed', { slot: opts.slot, code: (err as { code?: string }).code });
        const c = client as pg.Client | null;
        client = null;
        await c?.end().catch(() => {});
        return null;
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) void check();
  }, opts.monitor.intervalMs);
  timer.unref();
  void check();

  return {
    get last() {
      return last;
    },
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await (client as pg.Client | null)?.end().catch(() => {});
    },
  };
}
