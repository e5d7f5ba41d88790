// Child process for the crash test: Postgres -> Pipeline -> Postgres apply sink (see crash-pipeline.ts).
import { createPostgresSink } from '../../src/index.js';
import { runCrashPipeline } from './crash-pipeline.js';

await runCrashPipeline(createPostgresSink);
