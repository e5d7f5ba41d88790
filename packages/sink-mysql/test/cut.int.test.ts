/**
 * The target connection cut mid-run (the shared scenario in sink-postgres/test/shared/cut-scenario.ts): the sink's
 * MariaDB sessions are KILLed again and again while changes stream, and the target ends equal to the source.
 */
import { describe, it } from 'vitest';
import { retriesAfterItsSessionsAreKilled } from '../../sink-postgres/test/shared/cut-scenario.js';
import { useTargetDatabase } from '../../sink-postgres/test/shared/target.js';
import { mysqlTarget as target } from './target.js';

const database = useTargetDatabase(target, 'cut');

describe('MySQL target connection cut', () => {
  it(
    'retries after KILL of its session and loses nothing',
    () => retriesAfterItsSessionsAreKilled(target, database()),
    120_000,
  );
});
