/** The SIGKILL loop of the shared crash scenario (sink-postgres/test/shared) against the MySQL apply sink. */
import { describe, it } from 'vitest';
import { applyExactlyOnceAcrossKills, KILLS } from '../../sink-postgres/test/shared/crash-scenario.js';
import { useTargetDatabase } from '../../sink-postgres/test/shared/target.js';
import { runChild } from './children/run.js';
import { mysqlTarget as target } from './target.js';

const database = useTargetDatabase(target, 'crash');

describe('MySQL apply crash test', () => {
  it(`applies every change exactly once across ${KILLS} SIGKILLs`, async () => {
    await applyExactlyOnceAcrossKills(target, database(), {
      async prepareTarget(db) {
        await db.query(
          'CREATE TABLE acct (id INT PRIMARY KEY, counter INT NOT NULL, note LONGTEXT NULL) ENGINE=InnoDB',
        );
        await db.query(`CREATE TRIGGER acct_no_regress BEFORE UPDATE ON acct FOR EACH ROW
          IF NEW.counter < OLD.counter THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'counter went backwards'; END IF`);
      },
      startChild: (args) => runChild('./crash-child.ts', args),
    });
  }, 300_000);
});
