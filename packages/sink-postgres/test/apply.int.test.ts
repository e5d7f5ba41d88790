import { describe, expect, it } from 'vitest';
import {
  appliesOverAPrefilledTarget,
  evolvesTheSchema,
  itAppliesTheCommonCases,
  quotesHostileIdentifiers,
} from './shared/apply-scenarios.js';
import { batch, ctx, ev, opts } from './shared/events.js';
import { refusesAFreshSlotOverACheckpoint } from './shared/slot-scenario.js';
import { useTargetDatabase } from './shared/target.js';
import { postgresTarget as target } from './target.js';

const database = useTargetDatabase(target, 'apply');

describe('Postgres apply', () => {
  itAppliesTheCommonCases(target, database);

  it('applies ADD COLUMN, DROP COLUMN and widening, or stops with a SCHEMA error when told to', () =>
    evolvesTheSchema(target, database(), {
      countMoreColumnSql:
        "SELECT COUNT(*)::int AS n FROM information_schema.columns WHERE table_name = 'evolve' AND column_name = 'more'",
    }));

  it('quotes hostile identifiers and rejects names over 63 bytes', () =>
    quotesHostileIdentifiers(target, database(), { tooLong: /65 bytes; Postgres allows 1 to 63 bytes/ }));

  it('refuses a start whose replication slot was created fresh while the target holds a checkpoint', () =>
    refusesAFreshSlotOverACheckpoint(target, database()));
});

describe('Postgres apply, statements sent without waiting (pipeline)', () => {
  it('commits nothing of a transaction whose middle statement fails, reports that error, and resumes after it', async () => {
    const db = database();
    await db.query('CREATE TABLE pipefail (id integer PRIMARY KEY, n integer CHECK (n <> 13))');
    const sink = target.createSink(db.url, { maxRowsPerStatement: 2 });
    await sink.open?.(ctx('pipefail'));
    const row = (lsn: bigint, i: number, id: number, n: number) => ev('pipefail', lsn, i, 'INSERT', { id, n });
    await sink.write(batch([row(0x100n, 0, 1, 1)]), opts);
    // Several two-row statements sent back to back; the second violates the CHECK, the ones behind it and the
    // checkpoint with the COMMIT are already on the wire.
    const bad = [2, 3, 4, 5, 6, 7, 8, 9].map((id, i) => row(0x200n, i, id, id === 4 ? 13 : id));
    const err = await sink.write(batch(bad), opts).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/pipefail_n_check/);
    expect(err?.message).not.toMatch(/current transaction is aborted/);
    expect(await db.query('SELECT id FROM pipefail ORDER BY id')).toEqual([{ id: 1 }]);
    const [cp] = await db.query<{ position: string }>(
      "SELECT position FROM walstream_checkpoints WHERE pipeline = 'pipefail'",
    );
    expect(cp?.position).toBe('0/100:0');
    // The same sink goes on with the next transaction.
    await sink.write(batch([row(0x300n, 0, 20, 20), row(0x300n, 1, 21, 21), row(0x300n, 2, 22, 22)]), opts);
    expect((await db.query('SELECT id FROM pipefail ORDER BY id')).map((r) => r.id)).toEqual([1, 20, 21, 22]);
    await sink.close?.();
  });
});

describe('Postgres apply, plain INSERTs for new rows', () => {
  it('an inserted key the target already holds: the transaction is redone with upserts, each row written once', () =>
    appliesOverAPrefilledTarget(target, database(), async (db) => {
      await db.query('CREATE TABLE prefilled (id integer PRIMARY KEY, name text)');
      await db.query('CREATE TABLE prefilled_log (id integer, op text)');
      await db.query(`CREATE FUNCTION prefilled_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO prefilled_log VALUES (NEW.id, TG_OP); RETURN NEW; END $$`);
      await db.query(
        'CREATE TRIGGER prefilled_log AFTER INSERT OR UPDATE ON prefilled FOR EACH ROW EXECUTE FUNCTION prefilled_log()',
      );
      await db.query("INSERT INTO prefilled VALUES (2, 'there before')");
      await db.query('TRUNCATE prefilled_log');
    }));
});
