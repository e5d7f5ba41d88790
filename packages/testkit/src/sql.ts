import pg from 'pg';

/** Runs one statement on a connection of its own (opened and closed here): the tests' way to set up and look. */
// biome-ignore lint/suspicious/noExplicitAny: pg's own default row type, so tests index rows as before
export async function sql<T extends pg.QueryResultRow = any>(
  url: string,
  text: string,
  params?: unknown[],
): Promise<pg.QueryResult<T>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query<T>(text, params);
  } finally {
    await c.end();
  }
}
