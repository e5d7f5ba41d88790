// Runs every benchmark in this folder in turn; each prints its figure next to its in-run reference.
// BENCH=pipeline,catchup picks some. Opt-in only, never in the default set: soak (minutes of load; BENCH=soak).
const all = ['pipeline', 'nats', 'catchup', 'snapshot', 'realtime', 'scaleout', 'physical', 'apply'];
const picked = process.env.BENCH ? process.env.BENCH.split(',') : all;
for (const name of picked) {
  const mod = await import(`./${name}.mjs`);
  await mod.run();
  console.log('');
}
