// Child process for the crash test: Postgres -> Pipeline -> file sink, until killed (SIGKILL) or told to stop.
// argv: url slot filePath
import { createPipeline } from '@walstream/core';
import { createFileSink } from '@walstream/sink-file';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, path] = process.argv.slice(2) as [string, string, string];
const pipeline = createPipeline({
  name: 'crash',
  reader: createPostgresReader({ connectionString: url, slot, publication: 'crash_pub', statusIntervalMs: 20 }),
  sinks: [createFileSink({ path })],
  batch: { maxEvents: 20, maxWaitMs: 5 },
});
process.on('SIGTERM', () => void pipeline.stop());
await pipeline.start();
process.stdout.write('started\n');
await pipeline.done;
