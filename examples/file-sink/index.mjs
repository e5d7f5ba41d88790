// A Pipeline from an in-memory reader to a JSON Lines file, run twice over overlapping input to show that a
// replay after a restart appends nothing twice. Run: pnpm --filter @walstream/example-file-sink start
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline, mask } from '@walstream/core';
import { createArrayReader, makeTransactions } from '@walstream/core/testing';
import { createFileSink } from '@walstream/sink-file';

const dir = await mkdtemp(join(tmpdir(), 'walstream-'));
const path = join(dir, 'changes.jsonl');
const items = makeTransactions({
  transactions: 5,
  eventsPerTransaction: 2,
  row: (n) => ({ id: n, email: `user${n}@example.com`, amount: '19.90' }),
});

for (const from of [0, 4]) {
  const pipeline = createPipeline({
    name: 'example',
    reader: createArrayReader(items.slice(from)), // the second run replays part of the first
    sinks: [createFileSink({ path })],
    transform: mask(), // email -> u***@example.com
  });
  await pipeline.start();
  await pipeline.done; // the array reader ends, so the pipeline drains and stops by itself
  console.log(`run from item ${from}: committed ${pipeline.status().committed?.lsn.toString(16)}`);
}

const lines = (await readFile(path, 'utf8')).trim().split('\n');
console.log(`${path} holds ${lines.length} events (10 expected, no duplicates):`);
console.log(lines[0]);
await rm(dir, { recursive: true, force: true }); // a throwaway folder: nothing is left behind
