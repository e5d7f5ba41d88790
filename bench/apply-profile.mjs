// Profiling helper for bench/apply.mjs: runs one contender alone, several times over, so `node --cpu-prof` sees
// only its work. BENCH_APPLY_SIDE=pg-sink|pg-bare|pg-upsert|mysql-sink|mysql-bare|mysql-upsert (default pg-sink).
// Example: node --cpu-prof --cpu-prof-dir=/tmp/prof bench/apply-profile.mjs
import { openSink, sides, workload } from './apply.mjs';

const [db, who] = (process.env.BENCH_APPLY_SIDE ?? 'pg-sink').split('-');
const REPEAT = Number(process.env.BENCH_APPLY_REPEAT ?? 5);
const batches = workload();
const side = await sides[db](`prof${process.pid}`);
try {
  let secs = 0;
  for (let r = 0; r < REPEAT; r++) {
    await side.reset();
    const sink = who === 'sink' ? await openSink(side, r) : null;
    const write = sink?.write ?? side[who];
    const t0 = process.hrtime.bigint();
    for (const b of batches) await write(b);
    secs += Number(process.hrtime.bigint() - t0) / 1e9;
    await sink?.close();
  }
  const rows = batches.length * batches[0].events.length * REPEAT;
  console.log(`${db} ${who}: ${Math.round(rows / secs).toLocaleString('en-US')} rows/s`);
} finally {
  await side.drop();
}
