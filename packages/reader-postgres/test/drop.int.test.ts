/** dropReplication: removes the slot (a forgotten one keeps WAL forever) and the publication walstream created. */
import { describe, expect, it } from 'vitest';
import { createPostgresReader, dropReplication, SlotActiveError } from '../src/index.js';
import { freshTable, servers, slotInfo, sql } from './helpers.js';

const publicationExists = async (url: string, name: string) =>
  ((await sql(url, 'SELECT 1 FROM pg_publication WHERE pubname = $1', [name])).rowCount ?? 0) > 0;

describe.each(servers())('Postgres $version dropReplication', ({ url: adminUrl }) => {
  it('drops the slot and the publication the reader created', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({ connectionString: url, slot, publication: 'made_by_reader', tables: ['t'] });
    await reader.open();
    // While the reader runs, its slot is active: refused, nothing dropped.
    await expect(
      dropReplication({ connectionString: url, slot, publication: 'made_by_reader' }),
    ).rejects.toBeInstanceOf(SlotActiveError);
    expect(await slotInfo(url, slot)).not.toBeNull();
    await reader.close();
    const r = await dropReplication({ connectionString: url, slot, publication: 'made_by_reader' });
    expect(r).toEqual({ slotDropped: true, publicationDropped: true });
    expect(await slotInfo(url, slot)).toBeNull();
    expect(await publicationExists(url, 'made_by_reader')).toBe(false);
    // Idempotent.
    expect(await dropReplication({ connectionString: url, slot, publication: 'made_by_reader' })).toEqual({
      slotDropped: false,
      publicationDropped: false,
    });
  });

  it('keeps a publication the user created unless told to drop it', async () => {
    const { url, slot } = await freshTable(
      adminUrl,
      'CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION users_pub FOR TABLE t',
    );
    const reader = createPostgresReader({ connectionString: url, slot, publication: 'users_pub' });
    await reader.open();
    await reader.close();
    expect(await dropReplication({ connectionString: url, slot, publication: 'users_pub' })).toEqual({
      slotDropped: true,
      publicationDropped: false,
    });
    expect(await publicationExists(url, 'users_pub')).toBe(true);
    expect(
      await dropReplication({
        connection: { connectionString: url },
        slot,
        publication: 'users_pub',
        dropPublication: true,
      }),
    ).toEqual({ slotDropped: false, publicationDropped: true });
    expect(await publicationExists(url, 'users_pub')).toBe(false);
  });
});
