import pg from 'pg';
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
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}
