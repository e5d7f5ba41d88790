// Profiles walstream's WAL archiver and base backup alone (no reference tools), one CPU profile per phase:
//   node bench/physical-profile.mjs [outDir]   (BENCH_WAL_MB, default 256; BENCH_BATCH_MB: archive batch.maxBytes;
//   BENCH_REUSE=0: the reader without reuseBuffers)
// Print the top frames with any cpuprofile viewer (Chrome DevTools, speedscope). Used to find what bounds
// bench/physical.mjs; it measures nothing against a reference.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline, parseLsn } from '@walstream/core';
import { createPhysicalReader, createWalArchiveSink, takeBaseBackup } from '@walstream/physical';
import { startPostgres } from '@walstream/testkit';
import pg from 'pg';

const WAL_MB = Number(process.env.BENCH_WAL_MB ?? 256);
const BATCH_MB = process.env.BENCH_BATCH_MB ? Number(process.env.BENCH_BATCH_MB) : null;
const out = process.argv[2] ?? '.';

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

const session = new Session();
session.connect();
await session.post('Profiler.enable');
async function profiled(name, fn) {
  await session.post('Profiler.start');
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(join(out, `${name}.cpuprofile`), JSON.stringify(profile));
  return { s, r };
}

const cluster = await startPostgres({
  version: 15,
  settings: { full_page_writes: 'on', max_wal_size: '4GB', checkpoint_timeout: '30min' },
});
const work = await mkdtemp(join(tmpdir(), 'walstream-prof-physical-'));
const url = cluster.connectionString;
try {
  await sql(url, `SELECT pg_create_physical_replication_slot('p_ws', true)`);
  const [{ l: startText }] = await sql(url, 'SELECT pg_current_wal_lsn()::text AS l');
  await sql(url, 'CREATE TABLE fill (id bigint, pad text)');
  for (;;) {
    await sql(url, `INSERT INTO fill SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 50000) g`);
    const [{ d }] = await sql(url, `SELECT (pg_current_wal_lsn() - '${startText}'::pg_lsn)::bigint AS d`);
    if (Number(d) >= WAL_MB * 1024 * 1024) break;
  }
  await sql(url, 'SELECT pg_switch_wal()');
  await sql(url, 'CHECKPOINT');
  const [{ l: endText }] = await sql(url, 'SELECT pg_current_wal_lsn()::text AS l');
  const endLsn = parseLsn(endText);
  const walMb = Number(endLsn - parseLsn(startText)) / 1024 / 1024;
  // Time inside the sink's write (writev + fsync): near the total means the disk bounds the archive.
  const sink = createWalArchiveSink({ dir: join(work, 'wal') });
  const write = sink.write.bind(sink);
  let inWrite = 0;
  let writes = 0;
  sink.write = async (batch, opts) => {
    const t = process.hrtime.bigint();
    try {
      return await write(batch, opts);
    } finally {
      inWrite += Number(process.hrtime.bigint() - t) / 1e9;
      writes++;
    }
  };
  if (process.env.BENCH_MARK) console.log('--- archive start');
  const a = await profiled('archive', async () => {
    const pipeline = createPipeline({
      name: 'prof',
      reader: createPhysicalReader({
        connectionString: url,
        slot: 'p_ws',
        reuseBuffers: process.env.BENCH_REUSE !== '0',
      }),
      sinks: [sink],
      ...(BATCH_MB ? { batch: { maxBytes: BATCH_MB << 20, maxEvents: 100_000 } } : {}),
    });
    const reached = new Promise((r) => pipeline.on('committed', (e) => e.position.lsn >= endLsn && r()));
    await pipeline.start();
    await reached;
    await pipeline.stop();
  });
  console.log(
    `archive ${walMb.toFixed(0)} MB in ${a.s.toFixed(1)} s = ${(walMb / a.s).toFixed(0)} MB/s (${writes} sink writes, ${inWrite.toFixed(1)} s in them), maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  const b = await profiled('backup', () => takeBaseBackup({ connectionString: url, dir: join(work, 'base') }));
  console.log(
    `backup ${(b.r.bytes / 1048576).toFixed(0)} MB in ${b.s.toFixed(1)} s = ${(b.r.bytes / 1048576 / b.s).toFixed(0)} MB/s, maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
} finally {
  await cluster.stop();
  await rm(work, { recursive: true, force: true });
}
