// Child process for the crash test: Postgres -> Pipeline -> file sink + a recording sink, until killed (SIGKILL)
// or told to stop. The recording sink appends every event id it is handed, synchronously (so a kill loses
// nothing it saw) and without any dedup: what the reader delivers twice, it records twice.
// argv: url slot filePath recordPath run
import { appendFileSync } from 'node:fs';
import { createPipeline } from '@walstream/core';
import { createFileSink } from '@walstream/sink-file';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, path, recordPath, run] = process.argv.slice(2) as [string, string, string, string, string];
const pipeline = createPipeline({
  name: 'crash',
  reader: createPostgresReader({ connectionString: url, slot, publication: 'crash_pub', statusIntervalMs: 20 }),
  sinks: [
    createFileSink({ path }),
    {
      name: 'recorder',
      async write(batch) {
        if (batch.events.length > 0) appendFileSync(recordPath, batch.events.map((e) => `${run} ${e.id}\n`).join(''));
      },
    },
  ],
  batch: { maxEvents: 20, maxWaitMs: 5 },
});
process.on('SIGTERM', () => void pipeline.stop());
await pipeline.start();
process.stdout.write('started\n');
await pipeline.done;
