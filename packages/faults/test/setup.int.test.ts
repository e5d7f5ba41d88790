/**
 * C20 setup order, the publication dropped while streaming: the next transaction of a captured table is
 * committed after the publication is gone. Postgres 15 stops decoding with an error; Postgres 18 only warns
 * ("skipped loading publication") and sends nothing for it. Pass on both: the pipeline stops with a typed
 * PublicationMissingError (not "slot invalidated"), nothing past the transaction is confirmed, and a restart
 * with the publication created again stops the same way instead of skipping the transaction silently.
 */
import { type Batch, createPipeline, type Sink } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { parsePgLsn, slotConfirmedLsn, startPostgres } from '@walstream/testkit';
import { expect, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const version of [18, 15] as const) {
  it(`C20 publication dropped while streaming (PG${version}): a typed error, nothing skipped or confirmed past it`, async () => {
    const pg = await startPostgres({ version });
    const s = await createScenario(pg.connectionString);
    const events: Batch['events'][number][] = [];
    const sink: Sink = {
      name: 'array',
      async write(b) {
        events.push(...b.events);
      },
    };
    const run = () =>
      createPipeline({
        name: 'c20',
        reader: createPostgresReader({
          connectionString: s.url,
          slot: s.slot,
          publication: s.publication,
          statusIntervalMs: 50,
        }),
        sinks: [sink],
        batch: { maxWaitMs: 5 },
      });
    const failure = async (p: ReturnType<typeof run>) =>
      (await p.done.then(
        () => null,
        (e: unknown) => e,
      )) as (Error & { code?: string }) | null;
    const first = run();
    try {
      await first.start();
      await s.workload.tx([1, 2]);
      for (let i = 0; i < 200 && events.length < 2; i++) await pause(20);
      await sql(s.url, `DROP PUBLICATION ${s.publication}`);
      // Right after its commit: a slot confirmed this far would have skipped the transaction.
      const after = parsePgLsn((await s.workload.tx([3, 4])).lsnAfterCommit);
      const err = await Promise.race([failure(first), pause(10_000).then(() => 'still running')]);
      expect(err).toMatchObject({ code: 'PUBLICATION_MISSING' });
      expect(events.length).toBe(2);
      await pause(300);
      expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThan(after);
      // Created again: the transaction still falls where the publication did not exist; a restart stops again.
      await sql(s.url, `CREATE PUBLICATION ${s.publication} FOR TABLE w`);
      const again = run();
      await again.start().catch(() => {});
      const err2 = await Promise.race([failure(again), pause(10_000).then(() => 'still running')]);
      await again.stop().catch(() => {});
      expect(err2).toMatchObject({ code: 'PUBLICATION_MISSING' });
      expect(events.some((e) => e.after?.id === 3)).toBe(false);
      expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThan(after);
    } finally {
      await first.stop().catch(() => {});
      await s.close();
      await pg.stop();
    }
  });
}

for (const version of [18, 15] as const) {
  it(`C20 slot created before the publication (PG${version}): a typed error, the earlier transaction not skipped`, async () => {
    const pg = await startPostgres({ version });
    const url = await pg.createDatabase('c20');
    try {
      await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
      await sql(url, `SELECT pg_create_logical_replication_slot('c20_early', 'pgoutput')`);
      await sql(url, 'INSERT INTO t VALUES (1)');
      await sql(url, 'CREATE PUBLICATION c20_pub FOR TABLE t');
      await sql(url, 'INSERT INTO t VALUES (2)');
      const events: Batch['events'][number][] = [];
      const p = createPipeline({
        name: 'c20-early',
        reader: createPostgresReader({ connectionString: url, slot: 'c20_early', publication: 'c20_pub' }),
        sinks: [
          {
            name: 'array',
            async write(b: Batch) {
              events.push(...b.events);
            },
          },
        ],
        batch: { maxWaitMs: 5 },
      });
      await p.start().catch(() => {});
      const err = await Promise.race([
        p.done.then(
          () => null,
          (e: unknown) => e,
        ),
        pause(10_000).then(() => 'still running'),
      ]);
      await p.stop().catch(() => {});
      expect(err).toMatchObject({ code: 'PUBLICATION_MISSING' });
      // The advice fits a slot older than its publication: not "create it" (it exists).
      expect((err as Error).message).toMatch(/created after the slot/);
      expect(events).toEqual([]);
    } finally {
      await pg.stop();
    }
  });
}
