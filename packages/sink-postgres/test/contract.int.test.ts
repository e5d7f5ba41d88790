/** The core sink contract (journaling harness in shared/contract-scenario.ts) against the Postgres apply sink. */
import { describeJournalContract } from './shared/contract-scenario.js';
import { useTargetDatabase } from './shared/target.js';
import { postgresTarget as target } from './target.js';

describeJournalContract(
  target,
  useTargetDatabase(target, 'contract'),
  'CREATE TABLE journal (id text PRIMARY KEY, lsn bigint NOT NULL, idx int NOT NULL, body text NOT NULL)',
);
