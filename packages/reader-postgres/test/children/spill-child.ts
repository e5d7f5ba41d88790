// Child process: reads with a tiny memory budget so a streamed transaction spills to disk, says "spilled" and
// waits to be killed. argv: url slot spillDir
import { readdirSync } from 'node:fs';
import { createPostgresReader } from '../../src/index.js';

const [url, slot, spillDir] = process.argv.slice(2) as [string, string, string];
const reader = createPostgresReader({
  connectionString: url,
  slot,
  publication: 'spill_pub',
  protocolVersion: 2,
  streamMemoryBytes: 64 * 1024,
  spillDir,
});
const iter = reader.read()[Symbol.asyncIterator]();
void iter.next(); // keeps pulling frames; the open transaction never commits
const spilled = () => readdirSync(spillDir, { recursive: true }).some((f) => String(f).endsWith('changes'));
while (!spilled()) await new Promise((r) => setTimeout(r, 20));
process.stdout.write('spilled\n');
await new Promise(() => {}); // until killed
