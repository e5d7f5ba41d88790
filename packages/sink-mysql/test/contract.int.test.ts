/** The core sink contract (journaling harness in sink-postgres/test/shared) against the MySQL apply sink. */
import { describeJournalContract } from '../../sink-postgres/test/shared/contract-scenario.js';
import { useTargetDatabase } from '../../sink-postgres/test/shared/target.js';
import { mysqlTarget as target } from './target.js';

describeJournalContract(
  target,
  useTargetDatabase(target, 'contract'),
  'CREATE TABLE journal (id VARCHAR(64) PRIMARY KEY, lsn BIGINT NOT NULL, idx INT NOT NULL, body LONGTEXT NOT NULL)',
);
