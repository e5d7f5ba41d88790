import type { ReaderItem } from '@walstream/core';
import type { ControlledSink, PendingWrite } from '@walstream/core/testing';
import { sql } from '@walstream/testkit';
import pg from 'pg';
import { inject } from 'vitest';

export const servers = () => inject('postgres');

let counter = 0;

/** A fresh database on `url`'s cluster, so test files never share slots or tables. */
export async function freshDatabase(url: string, prefix = 'w'): Promise<string> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return url.replace(/\/[^/]*$/, `/${name}`);
}

export { sql };

/** Pulls items until `until` says stop (or the iterator ends). */
export async function collect(
  iterable: AsyncIterable<ReaderItem>,
  until: (items: ReaderItem[]) => boolean,
): Promise<ReaderItem[]> {
  const items: ReaderItem[] = [];
  for await (const item of iterable) {
    items.push(item);
    if (until(items)) break;
  }
  return items;
}

export const events = (items: ReaderItem[]) => items.filter((i) => (i as { kind?: string }).kind === undefined);
export const commits = (items: ReaderItem[]) => items.filter((i) => (i as { kind?: string }).kind === 'commit');

export async function slotInfo(
  url: string,
  slot: string,
): Promise<{ confirmed: string | null; active: boolean } | null> {
  const r = await sql(
    url,
    'SELECT confirmed_flush_lsn::text AS c, active FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = r.rows[0];
  return row ? { confirmed: row.c, active: row.active } : null;
}

/** Ends the walsender streaming from `slot` (the reader sees its connection lost). */
export async function terminateWalsender(url: string, slot: string): Promise<void> {
  await sql(url, 'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
}

/** A slot name unique to the test database (slots are per cluster). */
export function slotName(url: string, suffix = ''): string {
  return `s_${(url.split('/').pop() as string).replace(/[^a-z0-9_]/g, '_')}${suffix}`.slice(0, 63);
}

/**
 * A fresh database with `ddl` run in it (by default one table `t (id int PRIMARY KEY)`), and a slot name of
 * its own: the set-up most reader tests start from.
 */
export async function freshTable(
  adminUrl: string,
  ddl = 'CREATE TABLE t (id int PRIMARY KEY)',
): Promise<{ url: string; slot: string }> {
  const url = await freshDatabase(adminUrl);
  await sql(url, ddl);
  return { url, slot: slotName(url) };
}

/**
 * The next write that holds events. A write before it holding none is resolved: a table's schema item comes before
 * its first event, and the 0 ms batch timer may cut it off alone when the event arrives in a later TCP read.
 */
export async function nextEventWrite(sink: ControlledSink): Promise<PendingWrite> {
  for (;;) {
    const w = await sink.nextWrite();
    if (w.batch.events.length > 0) return w;
    w.resolve();
  }
}
