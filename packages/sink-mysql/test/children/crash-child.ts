// Child process for the crash test: Postgres -> Pipeline -> MySQL apply sink (see the shared crash-pipeline.ts).
import { runCrashPipeline } from '../../../sink-postgres/test/children/crash-pipeline.js';
import { createMySqlSink } from '../../src/index.js';

await runCrashPipeline(createMySqlSink);
