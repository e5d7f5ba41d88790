// The crash test's child, shared by the SQL apply sinks: Postgres -> Pipeline -> the given apply sink, until
// killed (SIGKILL) or told to stop (SIGTERM: drains, then prints the sink's position). argv: pgUrl slot targetUrl
import { createPipeline, formatLsn } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import type { ApplySink } from '../../src/index.js';

export interface CrashSinkOptions {
  connectionString: string;
  transactionsPerCommit: number;
  maxRowsPerStatement: number;
}

export async function runCrashPipeline(createSink: (options: CrashSinkOptions) => ApplySink): Promise<void> {
  const [url, slot, targetUrl] = process.argv.slice(2) as [string, string, string];
  const sink = createSink({ connectionString: targetUrl, transactionsPerCommit: 3, maxRowsPerStatement: 16 });
  const pipeline = createPipeline({
    name: 'crash',
    reader: createPostgresReader({ connectionString: url, slot, publication: slot, statusIntervalMs: 20 }),
    sinks: [sink],
    batch: { maxEvents: 40, maxWaitMs: 5 },
    retry: { maxAttempts: 20, initialDelayMs: 50, maxDelayMs: 500 },
  });
  process.on('SIGTERM', () => {
    void pipeline.stop().then(() => {
      const p = sink.position;
      process.stdout.write(`position ${p === null ? 'none' : `${formatLsn(p.lsn)}:${p.index}`}\n`);
      process.exit(0);
    });
  });
  await pipeline.start();
  process.stdout.write('started\n');
  await pipeline.done;
}
