// Child process for the crash test: physical reader -> Pipeline -> WAL archive, until SIGKILL or SIGTERM.
// argv: url slot dir
import { createPipeline } from '@walstream/core';
import { createPhysicalReader, createWalArchiveSink } from '../../src/index.js';

const [url, slot, dir] = process.argv.slice(2) as [string, string, string];
const pipeline = createPipeline({
  name: 'archiver',
  reader: createPhysicalReader({ connectionString: url, slot, statusIntervalMs: 200 }),
  sinks: [createWalArchiveSink({ dir })],
  batch: { maxWaitMs: 20 },
});
pipeline.on('committed', (e) => process.stdout.write(`committed ${e.position.lsn}\n`));
process.on('SIGTERM', () => void pipeline.stop());
await pipeline.start();
process.stdout.write('started\n');
await pipeline.done;
process.stdout.write('stopped\n');
