/**
 * The walsender formats text values with its session settings. Whatever the user passes (options= in the
 * connection string, `connection.options`, PGOPTIONS), the reader pins the settings its decoders rely on.
 */
import type { ChangeEvent } from '@walstream/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, servers, slotName, sql } from './helpers.js';

const HOSTILE = '-c DateStyle=SQL,DMY -c TimeZone=Asia/Kolkata -c IntervalStyle=sql_standard -c extra_float_digits=-3';

async function readOne(url: string, connection: Record<string, unknown>): Promise<ChangeEvent> {
  await sql(
    url,
    'CREATE TABLE s (id int PRIMARY KEY, tz timestamptz, ts timestamp, d date, iv interval, f8 float8, m money)',
  );
  const reader = createPostgresReader({ connection, slot: slotName(url), publication: 'p', tables: ['s'] });
  try {
    await reader.open();
    await sql(
      url,
      `INSERT INTO s VALUES (1, '2026-03-05 02:40:00+00', '2026-03-05 02:40:00', '2026-03-05',
        '1 day 02:03:04', 0.1, 1234.5)`,
    );
    const items = await collect(reader.read(), (xs) => commits(xs).length === 1);
    return events(items)[0] as ChangeEvent;
  } finally {
    await reader.close();
  }
}

const EXPECTED = {
  id: 1,
  tz: '2026-03-05T02:40:00+00:00',
  ts: '2026-03-05T02:40:00',
  d: '2026-03-05',
  iv: '1 day 02:03:04',
  f8: 0.1,
  m: '1234.50',
};

describe.each(servers())('Postgres $version session settings', ({ url: adminUrl }) => {
  const saved = process.env.PGOPTIONS;
  afterEach(() => {
    if (saved === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = saved;
  });

  it('ignores options= in the connection string that would change value formats', async () => {
    const url = await freshDatabase(adminUrl);
    const e = await readOne(url, { connectionString: `${url}?options=${encodeURIComponent(HOSTILE)}` });
    expect(e.after).toEqual(EXPECTED);
  });

  it('ignores connection.options and PGOPTIONS that would change value formats', async () => {
    const url = await freshDatabase(adminUrl);
    process.env.PGOPTIONS = HOSTILE;
    const e = await readOne(url, { connectionString: url });
    expect(e.after).toEqual(EXPECTED);
    delete process.env.PGOPTIONS;
    const url2 = await freshDatabase(adminUrl);
    const e2 = await readOne(url2, { connectionString: url2, options: HOSTILE });
    expect(e2.after).toEqual(EXPECTED);
  });
});
