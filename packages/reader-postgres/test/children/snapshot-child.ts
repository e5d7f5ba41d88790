// Child process for the snapshot crash test: an initial snapshot (then streaming) into a file sink, until
// killed (SIGKILL) or told to stop. Prints `started`, then `progress <snapshotId> <rowsDone>` as chunks commit.
// argv: url slot filePath
import { createPipeline } from '@walstream/core';
import { createFileSink } from '@walstream/sink-file';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, path] = process.argv.slice(2) as [string, string, string];
const pipeline = createPipeline({
  name: 'snapshot-crash',
  reader: createPostgresReader({
    connectionString: url,
    slot,
    publication: 'snap_pub',
    tables: ['items', 'marker'],
    statusIntervalMs: 50,
    snapshot: { mode: 'initial', chunkRows: 1000 },
  }),
  sinks: [createFileSink({ path })],
  batch: { maxEvents: 500, maxWaitMs: 5 },
});
pipeline.on('snapshot', (e) => {
  for (const t of e.tables)
    if (t.table === 'public.items') process.stdout.write(`progress ${t.snapshotId} ${t.rowsDone}\n`);
});
process.on('SIGTERM', () => void pipeline.stop());
await pipeline.start();
process.stdout.write('started\n');
await pipeline.done;
