/** The SIGKILL loop of shared/crash-scenario.ts against the Postgres apply sink. */
import { describe, it } from 'vitest';
import { runChild } from './children/run.js';
import { applyExactlyOnceAcrossKills, KILLS } from './shared/crash-scenario.js';
import { useTargetDatabase } from './shared/target.js';
import { postgresTarget as target } from './target.js';

const database = useTargetDatabase(target, 'crash_target');

describe('Postgres apply crash test', () => {
  it(`applies every change exactly once across ${KILLS} SIGKILLs`, async () => {
    await applyExactlyOnceAcrossKills(target, database(), {
      async prepareTarget(db) {
        await db.query('CREATE TABLE acct (id int PRIMARY KEY, counter int NOT NULL, note text)');
        await db.query(`CREATE FUNCTION no_regress() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW.counter < OLD.counter THEN RAISE EXCEPTION 'counter went backwards'; END IF; RETURN NEW; END $$`);
        await db.query(
          'CREATE TRIGGER acct_no_regress BEFORE UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION no_regress()',
        );
      },
      startChild: (args) => runChild('./crash-child.ts', args),
    });
  }, 300_000);
});
