/**
 * C16 slot invalidation, as the service (`walstream run`) shows it (PG18 and PG15): a private cluster with
 * max_slot_wal_keep_size=1MB, the service streaming to a file through a TCP proxy. The proxy cuts the reader's
 * connections and refuses new ones (the consumer is away), heavy writes and a checkpoint make the slot lose its
 * WAL, then the link comes back. Pass: while the slot is lost and the reader has not noticed yet, /metrics says so
 * (walstream_slot_wal_status{status="lost"} 1, slot lag level 2) and /status too; the reader then fails with
 * SLOT_INVALIDATED, the service exits 1 logging that code, confirms nothing, and a restart exits 3 with the same
 * code instead of streaming past the gap.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceLogger, ExitCode, loadConfig, startService } from '@walstream/cli';
import { ErrorCode } from '@walstream/core';
import { type PostgresCluster, startPostgres, startTcpProxy, type TcpProxy, until } from '@walstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from './harness.js';

const slotRow = async (url: string, slot: string) =>
  (
    await sql(
      url,
      'SELECT wal_status, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    )
  ).rows[0] as { wal_status: string; confirmed: string } | undefined;

describe.each([18, 15] as const)('PostgreSQL %i', (version) => {
  let cluster: PostgresCluster;
  let proxy: TcpProxy;

  beforeAll(async () => {
    cluster = await startPostgres({
      version,
      settings: { max_slot_wal_keep_size: '1MB', min_wal_size: '32MB', max_wal_size: '64MB' },
    });
    proxy = await startTcpProxy({ host: cluster.host, port: cluster.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await cluster?.stop();
  });

  it(`C16 slot invalidation in the service (PG${version}): metric and status say lost, exit 1 with SLOT_INVALIDATED, restart exits 3`, async () => {
    const url = cluster.connectionString;
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    const dir = await mkdtemp(join(tmpdir(), 'walstream-c16-'));
    const out = join(dir, 'out.jsonl');
    const file = join(dir, 'walstream.yaml');
    await writeFile(
      file,
      `pipelines:
  - name: c16
    source:
      connectionString: \${SOURCE_URL}
      slot: c16_slot
      publication: c16_pub
      tables: [public.t]
      statusIntervalMs: 200
      reconnect: { initialDelayMs: 50, maxDelayMs: 300 }
    sinks:
      - file: { path: ${out} }
    batch: { maxWaitMs: 20 }
http: { port: 0 }
monitor: { intervalMs: 100 }
`,
    );
    const via = `postgres://${cluster.user}@127.0.0.1:${proxy.port}/postgres`;
    const cfg = await loadConfig(file, { SOURCE_URL: via });
    const logs: string[] = [];
    const logger = () =>
      createServiceLogger(
        { level: 'info', format: 'json' },
        { destination: { write: (l: string) => void logs.push(l) } },
      );
    const svc = await startService(cfg, { logger: logger() });
    const base = svc.http?.url as string;
    const scrape = async () => ({
      metrics: await (await fetch(`${base}/metrics`)).text(),
      status: (await (await fetch(`${base}/status`)).json()) as { pipelines: Record<string, unknown>[] },
    });
    try {
      await sql(url, `INSERT INTO t VALUES (1, 'a')`);
      await until(async () => (await readFile(out, 'utf8').catch(() => '')).includes('"id":1'), 'row 1 in the file');
      // The slot monitor's connection is the newest one through the proxy (it opens once the pipeline started).
      await until(
        async () => /walstream_slot_wal_status\{[^}]*status="reserved"\} 1/.test((await scrape()).metrics),
        'slot reserved',
      );
      await until(async () => (await slotRow(url, 'c16_slot'))?.confirmed !== undefined, 'slot');
      const monitorConn = Math.max(...proxy.connectionIds);
      // The consumer goes away: every connection but the monitor's is cut, and no new one gets through.
      proxy.refuse(true);
      for (const id of proxy.connectionIds) if (id !== monitorConn) proxy.cut({ connection: id });
      await until(
        async () =>
          (await sql(url, `SELECT active FROM pg_replication_slots WHERE slot_name = 'c16_slot'`)).rows[0]?.active ===
          false,
        'walsender gone',
      );
      const before = (await slotRow(url, 'c16_slot'))?.confirmed;
      for (let i = 0; i < 4; i++) {
        await sql(url, `INSERT INTO t SELECT g + ${10 + i * 20000}, repeat('x', 200) FROM generate_series(1, 20000) g`);
        await sql(url, 'SELECT pg_switch_wal()');
      }
      await sql(url, 'CHECKPOINT');
      expect((await slotRow(url, 'c16_slot'))?.wal_status).toBe('lost');

      // Lost, and the reader cannot know yet: the service's metrics and status say it.
      await until(
        async () => /walstream_slot_wal_status\{[^}]*status="lost"\} 1/.test((await scrape()).metrics),
        'lost in /metrics',
        10_000,
      );
      const seen = await scrape();
      expect(seen.metrics).toMatch(/walstream_slot_lag_level\{[^}]*\} 2/);
      expect(seen.status.pipelines[0]).toMatchObject({
        state: 'running',
        slot: { walStatus: 'lost', level: 'critical' },
      });

      // The link comes back: the reader fails with the typed error, the service exits 1 and says why.
      proxy.refuse(false);
      expect(await svc.done).toBe(ExitCode.PipelineFailed);
      expect(svc.pipelines[0]?.status()).toMatchObject({ state: 'failed', error: { code: ErrorCode.SlotInvalidated } });
      const failed = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'pipeline failed');
      expect(failed).toMatchObject({ pipeline: 'c16', code: ErrorCode.SlotInvalidated });
      // Nothing confirmed past the gap.
      expect((await slotRow(url, 'c16_slot'))?.confirmed).toBe(before);
      const rows = (await readFile(out, 'utf8')).trim().split('\n').length;

      // A restart does not stream past the gap either: it cannot start, with the same code.
      const again = await startService(cfg, { logger: logger(), noHttp: true }).then(
        () => null,
        (e: unknown) => e as { code?: string; exitCode?: number },
      );
      expect(again).toMatchObject({ code: ErrorCode.SlotInvalidated, exitCode: ExitCode.StartFailed });
      expect((await readFile(out, 'utf8')).trim().split('\n').length).toBe(rows);
      expect((await slotRow(url, 'c16_slot'))?.confirmed).toBe(before);
    } finally {
      await svc.stop();
    }
  }, 120_000);
});
