import { sql as query } from '@walstream/testkit';
import type pg from 'pg';
import { inject } from 'vitest';

let counter = 0;

/** A fresh database on the package's private cluster. */
export async function freshDatabase(prefix = 'sp'): Promise<string> {
  const url = inject('pgUrl');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await sql(url, `CREATE DATABASE ${name}`);
  return url.replace(/\/[^/]*$/, `/${name}`);
}

export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params?: unknown[],
): Promise<T[]> {
  return (await query<T>(url, text, params)).rows;
}

/** Creates the publication and slot (as a first reader run would), so changes made afterwards are captured. */
export async function prepareSlot(url: string, slot: string, tables: string[]): Promise<void> {
  const { createPostgresReader } = await import('@walstream/reader-postgres');
  const r = createPostgresReader({ connectionString: url, slot, publication: slot, tables });
  await r.open();
  await r.close();
}

/** Polls `check` until it is true (or fails after `ms`). */
export async function waitFor(check: () => Promise<boolean>, ms = 60_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
