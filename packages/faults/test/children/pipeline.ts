// Child process of the fault scenarios: Postgres -> Pipeline -> recording sinks, until killed, a fault point
// fires (WALSTREAM_FAULT) or SIGTERM stops it. argv[2]: JSON of ChildConfig (see harness.ts).
// Prints `started`, then `ack <lsn>` after each confirmed position, `retrying <sink>` when a sink's write failed
// and will be retried, then `stopped` on a clean stop, or `failed <code>` (the typed error's code, never its
// message) and exits 1.
import { createPipeline, formatLsn } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import type { ChildConfig } from '../harness.js';
import { createSink } from './sinks.js';

const cfg = JSON.parse(process.argv[2] as string) as ChildConfig;
const reader = createPostgresReader({
  connectionString: cfg.url,
  slot: cfg.slot,
  publication: cfg.publication,
  tables: cfg.tables,
  statusIntervalMs: 50,
  ...(cfg.createSlot === false ? { createSlot: false } : {}),
  ...(cfg.protocolVersion ? { protocolVersion: cfg.protocolVersion } : {}),
});
const ackOf = reader.ack.bind(reader);
reader.ack = async (p) => {
  await ackOf(p);
  process.stdout.write(`ack ${formatLsn(p.lsn)}\n`);
};
const pipeline = createPipeline({
  name: 'faults',
  reader,
  sinks: await Promise.all(cfg.sinks.map((s) => createSink(s, cfg.run))),
  batch: { maxEvents: cfg.maxEvents ?? 20, maxWaitMs: 5 },
  ...(cfg.retry ? { retry: cfg.retry } : {}),
});
pipeline.on('retrying', (e) => process.stdout.write(`retrying ${e.sink}\n`));
process.on('SIGTERM', () => void pipeline.stop());
try {
  await pipeline.start();
  process.stdout.write('started\n');
  if (cfg.snapshot) {
    reader.requestSnapshot(cfg.snapshot.tables, { chunkRows: cfg.snapshot.chunkRows });
    process.stdout.write('snapshot requested\n');
  }
  await pipeline.done;
  process.stdout.write('stopped\n');
} catch (err) {
  process.stdout.write(`failed ${(err as { code?: string }).code ?? (err as Error).name}\n`);
  process.exit(1);
}
