// Physical replication, side by side on one PostgreSQL 15 (the system pg_receivewal / pg_basebackup match it):
//   WAL archive: BENCH_WAL_MB of WAL is written first; then pg_receivewal and walstream (physical reader ->
//   Pipeline -> WAL archive sink, configured as `walstream archive` runs it: 16 MiB batches) each read it from
//   their own physical slot into their own folder, both fsyncing (pg_receivewal at segment end and when the
//   server asks, walstream at every batch). Target: walstream >= 0.9x MB/s. A third line shows the pipeline's
//   default 1 MiB batches (an fsync per MiB).
//   Base backup: pg_basebackup -Fp -X fetch -c fast and takeBaseBackup (same content: plain files, WAL,
//   CRC32C manifest, fsync). Target: walstream >= 0.8x MB/s.
// Each pair runs BENCH_ROUNDS times, alternating which goes first; the median and the spread are printed.
// Peak RSS: walstream's is this process's maxRSS; the tools' is read by /usr/bin/time.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPipeline, parseLsn } from '@walstream/core';
import { createPhysicalReader, createWalArchiveSink, takeBaseBackup } from '@walstream/physical';
import { startPostgres } from '@walstream/testkit';
import pg from 'pg';

const WAL_MB = Number(process.env.BENCH_WAL_MB ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/** Runs a tool under /usr/bin/time; resolves with seconds and the tool's peak RSS in MB. */
function timeTool(bin, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', bin, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const rss = Number(/maxrss=(\d+)/.exec(err)?.[1] ?? 0) / 1024;
      const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(err);
      const cpuS = cpu ? Number(cpu[1]) + Number(cpu[2]) : 0;
      if (code === 0) resolve({ s, rss, cpuS });
      else reject(new Error(`${bin} exited ${code}: ${err.slice(-1500)}`));
    });
  });
}

// As packages/cli/src/commands/archive.ts runs it.
const ARCHIVE = {
  batch: { maxBytes: 16 << 20, maxEvents: 10_000, maxWaitMs: 100 },
  maxInFlightBytes: 32 << 20,
  reuseBuffers: true,
  maxBufferedBytes: 8 << 20,
};

async function timeArchiver(url, slot, dir, endLsn, options) {
  const t0 = process.hrtime.bigint();
  const { reuseBuffers, maxBufferedBytes, ...pipelineOptions } = options;
  const pipeline = createPipeline({
    name: 'bench-archive',
    reader: createPhysicalReader({
      connectionString: url,
      slot,
      reuseBuffers: reuseBuffers === true,
      ...(maxBufferedBytes ? { maxBufferedBytes } : {}),
    }),
    sinks: [createWalArchiveSink({ dir })],
    ...pipelineOptions,
  });
  let done;
  const reached = new Promise((r) => {
    done = r;
  });
  pipeline.on('committed', (e) => {
    if (e.position.lsn >= endLsn) done();
  });
  await pipeline.start();
  await reached;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await pipeline.stop();
  return s;
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;

export async function run() {
  const cluster = await startPostgres({
    version: 15,
    settings: { full_page_writes: 'on', max_wal_size: '4GB', checkpoint_timeout: '30min' },
  });
  const work = await mkdtemp(join(tmpdir(), 'walstream-bench-physical-'));
  const url = cluster.connectionString;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of ['recv', 'ws', 'wsb']) {
        await sql(url, `SELECT pg_create_physical_replication_slot('b_${s}${r}', true)`);
      }
    }
    await sql(url, `SELECT pg_create_physical_replication_slot('b_warm', true)`);
    const [{ l: startText }] = await sql(url, 'SELECT pg_current_wal_lsn()::text AS l');
    await sql(url, 'CREATE TABLE fill (id bigint, pad text)');
    // ~1 kB rows; insert until the WAL has grown by WAL_MB.
    for (;;) {
      await sql(url, `INSERT INTO fill SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 50000) g`);
      const [{ d }] = await sql(url, `SELECT (pg_current_wal_lsn() - '${startText}'::pg_lsn)::bigint AS d`);
      if (Number(d) >= WAL_MB * 1024 * 1024) break;
    }
    await sql(url, 'SELECT pg_switch_wal()');
    // Write back what the fill dirtied, so the first timed run does not pay for it.
    await sql(url, 'CHECKPOINT');
    await new Promise((resolve) => spawn('sync').on('exit', resolve));
    const [{ l: endText }] = await sql(url, 'SELECT pg_current_wal_lsn()::text AS l');
    const endLsn = parseLsn(endText);
    const walMb = Number(endLsn - parseLsn(startText)) / 1024 / 1024;
    const [{ b }] = await sql(url, 'SELECT pg_database_size(current_database()) AS b');
    const dbMb = Number(b) / 1024 / 1024;
    console.log(`physical: ${walMb.toFixed(0)} MB of WAL, database ${dbMb.toFixed(0)} MB, ${ROUNDS} rounds (PG15)`);

    const baseRss = process.resourceUsage().maxRSS / 1024;
    // An untimed read of the WAL first, so neither tool pays for a cold page cache in the first round.
    const warmDir = join(work, 'warm');
    await mkdir(warmDir);
    await timeArchiver(url, 'b_warm', warmDir, endLsn, ARCHIVE);
    await rm(warmDir, { recursive: true, force: true });

    const recvMbs = [];
    const wsMbs = [];
    const wsBigMbs = [];
    let recvRss = 0;
    // CPU seconds (user + system, all threads) per run: on a shared machine a process that needs more CPU
    // loses more wall time to the others, so this explains ratios that move with the load.
    const recvCpu = [];
    let archiveRss = 0;
    const wsCpu = [];
    for (let r = 0; r < ROUNDS; r++) {
      const recvDir = join(work, `recv${r}`);
      const wsDir = join(work, `ws${r}`);
      const recv = async () => {
        const { s, rss, cpuS } = await timeTool(join(cluster.binDir, 'pg_receivewal'), [
          '-D',
          recvDir,
          '-d',
          url,
          '-S',
          `b_recv${r}`,
          '--endpos',
          endText,
          '-n',
        ]);
        recvMbs.push(walMb / s);
        recvRss = Math.max(recvRss, rss);
        recvCpu.push(cpuS);
      };
      const ws = async () => {
        const c0 = process.cpuUsage();
        wsMbs.push(walMb / (await timeArchiver(url, `b_ws${r}`, wsDir, endLsn, ARCHIVE)));
        const c = process.cpuUsage(c0);
        wsCpu.push((c.user + c.system) / 1e6);
        // Round 0 runs this before any default-batch run: the peak so far is the warm-up's and this one's.
        if (r === 0) archiveRss = process.resourceUsage().maxRSS / 1024;
      };
      // The pipeline's default batch (1 MiB): the archive fsyncs once per batch, so 16x the fsyncs.
      const wsBig = async () => {
        wsBigMbs.push(walMb / (await timeArchiver(url, `b_wsb${r}`, `${wsDir}-big`, endLsn, {})));
      };
      await mkdir(recvDir);
      await mkdir(wsDir);
      await mkdir(`${wsDir}-big`);
      const order = r % 2 === 0 ? [recv, ws, wsBig] : [wsBig, ws, recv];
      for (const f of order) await f();
      await rm(recvDir, { recursive: true, force: true });
      await rm(wsDir, { recursive: true, force: true });
      await rm(`${wsDir}-big`, { recursive: true, force: true });
    }
    const wsArchiveRss = process.resourceUsage().maxRSS / 1024;
    console.log(
      `  WAL archive    walstream ${median(wsMbs).toFixed(0)} MB/s (${spread(wsMbs)})   pg_receivewal ${median(recvMbs).toFixed(0)} MB/s (${spread(recvMbs)})   ratio ${(median(wsMbs) / median(recvMbs)).toFixed(2)}x (target >= 0.9x)`,
    );
    console.log(
      `  WAL archive    walstream, default 1 MiB batches ${median(wsBigMbs).toFixed(0)} MB/s (${spread(wsBigMbs)})   ratio ${(median(wsBigMbs) / median(recvMbs)).toFixed(2)}x`,
    );
    console.log(
      `  archive CPU    walstream ${median(wsCpu).toFixed(2)} s   pg_receivewal ${median(recvCpu).toFixed(2)} s   (user + system per run, median)`,
    );

    const bbMbs = [];
    const wsbMbs = [];
    let bbRss = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const bbDir = join(work, `bb${r}`);
      const wsDir = join(work, `wsb${r}`);
      const bb = async () => {
        const { s, rss } = await timeTool(join(cluster.binDir, 'pg_basebackup'), [
          '-D',
          bbDir,
          '-d',
          url,
          '-Fp',
          '-X',
          'fetch',
          '-c',
          'fast',
          '--manifest-checksums=CRC32C',
        ]);
        bbMbs.push(dbMb / s);
        bbRss = Math.max(bbRss, rss);
      };
      const wsb = async () => {
        const t0 = process.hrtime.bigint();
        await takeBaseBackup({ connectionString: url, dir: wsDir });
        wsbMbs.push(dbMb / (Number(process.hrtime.bigint() - t0) / 1e9));
      };
      if (r % 2 === 0) {
        await bb();
        await wsb();
      } else {
        await wsb();
        await bb();
      }
      // Same content: both manifests list the same data files (the WAL segment names depend on timing).
      if (r === 0) {
        const files = async (d) =>
          JSON.parse(await readFile(join(d, 'backup_manifest'), 'utf8'))
            .Files.map((f) => f.Path)
            .filter((p) => !p.startsWith('pg_wal/'))
            .sort()
            .join();
        if ((await files(bbDir)) !== (await files(wsDir)))
          console.log('  (note: the two manifests list different files)');
      }
      await rm(bbDir, { recursive: true, force: true });
      await rm(wsDir, { recursive: true, force: true });
    }
    console.log(
      `  base backup    walstream ${median(wsbMbs).toFixed(0)} MB/s (${spread(wsbMbs)})   pg_basebackup ${median(bbMbs).toFixed(0)} MB/s (${spread(bbMbs)})   ratio ${(median(wsbMbs) / median(bbMbs)).toFixed(2)}x (target >= 0.8x)`,
    );
    console.log(
      `  peak RSS       walstream ${archiveRss.toFixed(0)} MB (archive as walstream archive runs it; the process was at ${baseRss.toFixed(0)} MB before) / ${wsArchiveRss.toFixed(0)} MB (after the default-batch runs too) / ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (whole run)   pg_receivewal ${recvRss.toFixed(0)} MB   pg_basebackup ${bbRss.toFixed(0)} MB`,
    );
  } finally {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
