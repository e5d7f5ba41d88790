/** Prepared (two-phase) transactions: what the server counts as sent at PREPARE, and orphans that hold WAL. */
import type { ChangeEvent, Logger, ReaderItem } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { collect, commits, events, freshDatabase, freshTable, servers, slotName, sql } from './helpers.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(servers().filter((s) => s.version >= 15))('Postgres $version two-phase', ({ url: adminUrl }) => {
  it('decodes a plain transaction on a table first described inside a pending prepared one', async () => {
    const { url, slot } = await freshTable(adminUrl, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
    const opts = { connectionString: url, slot, publication: 'p', tables: ['t'], twoPhase: true };
    const reader = createPostgresReader(opts);
    await reader.open();
    // The Relation message for t goes out inside the prepared transaction; the plain one after it gets none.
    await sql(url, `BEGIN; INSERT INTO t VALUES (1, 'prepared'); PREPARE TRANSACTION 'wedge'`);
    await sql(url, `INSERT INTO t VALUES (2, 'plain')`);
    await sql(url, `COMMIT PREPARED 'wedge'`);
    const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
    const evs = events(items) as ChangeEvent[];
    expect(evs.map((e) => e.after?.v)).toEqual(['plain', 'prepared']);
    // The schema change comes before the first row in that shape, once.
    const kinds = items.map((i) => (i as { kind?: string }).kind ?? 'event');
    expect(kinds).toEqual(['schema', 'event', 'commit', 'event', 'commit']);
    await reader.close();

    // A restart from the slot works too (no endless repeat of a decode error).
    await sql(url, `BEGIN; INSERT INTO t VALUES (3, 'prepared 2'); PREPARE TRANSACTION 'wedge2'`);
    await sql(url, `INSERT INTO t VALUES (4, 'plain 2')`);
    await sql(url, `COMMIT PREPARED 'wedge2'`);
    const again = createPostgresReader(opts);
    const more = await collect(again.read(), (xs) => (events(xs) as ChangeEvent[]).some((e) => e.after?.id === 3));
    expect((events(more) as ChangeEvent[]).map((e) => e.after?.id).filter((id) => (id as number) >= 3)).toEqual([4, 3]);
    await again.close();
  });

  it('reports an orphaned prepared transaction that holds confirmation back', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const warnings: { msg: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (msg, fields) => warnings.push({ msg, fields }),
      error: () => {},
    };
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      twoPhase: true,
      statusIntervalMs: 50,
      preparedWarningMs: 500,
      logger,
    });
    await reader.open();
    await sql(url, `BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'forgotten gid'`);
    await sql(url, 'INSERT INTO t VALUES (2)');
    const items: ReaderItem[] = await collect(reader.read(), (xs) => commits(xs).length === 1);
    expect((events(items) as ChangeEvent[]).map((e) => e.after?.id)).toEqual([2]);
    await pause(1500);
    const status = reader.status() as unknown as {
      preparedTransactions: { gid: string; ageMs: number; prepareLsn: string }[];
    };
    expect(status.preparedTransactions).toHaveLength(1);
    expect(status.preparedTransactions[0]?.gid).toBe('forgotten gid');
    expect(status.preparedTransactions[0]?.ageMs).toBeGreaterThanOrEqual(500);
    const w = warnings.filter((x) => x.fields?.gid === 'forgotten gid');
    expect(w.length).toBe(1); // once per transaction, not on every status tick
    expect(w[0]?.msg).toMatch(/prepared transaction/);
    expect(w[0]?.fields?.ageMs).toBeGreaterThanOrEqual(500);
    await reader.close();
    await sql(url, `ROLLBACK PREPARED 'forgotten gid'`);
  });
});
