import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { createServiceLogger } from '../src/service/log.js';
import { startService } from '../src/service/service.js';
import { cli, freshDatabase, sql, tempDir, waitFor, writeConfig } from './helpers.js';

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setupSource(prefix: string) {
  const url = await freshDatabase(prefix);
  await sql(url, 'CREATE TABLE orders (id int PRIMARY KEY, status text, email text)');
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const slot = `${prefix}_slot_${Date.now().toString(36)}`;
  const config = (extra = '') => `pipelines:
  - name: orders-sync
    source:
      connectionString: \${SOURCE_URL}
      slot: ${slot}
      publication: orders_pub
      tables: [public.orders]
      statusIntervalMs: 500
    sinks:
      - file:
          path: ${join(tmp.dir, 'out.jsonl')}
    transforms:
      - mask: { columns: [email], strategy: redact }
    batch: { maxWaitMs: 20 }
http:
  port: 0
monitor:
  intervalMs: 200
log:
  level: warn
  format: json
${extra}`;
  return { url, dir: tmp.dir, config, slot };
}

describe('walstream run (the service)', () => {
  it('streams to its sinks and serves /metrics, /health, /ready, /status and POST /shutdown', async () => {
    const src = await setupSource('svc');
    const file = await writeConfig(src.dir, src.config());
    const cfg = await loadConfig(file, { SOURCE_URL: src.url });
    const logs: string[] = [];
    const logger = createServiceLogger(
      { level: 'info', format: 'json' },
      { destination: { write: (l: string) => void logs.push(l) } },
    );
    const service = await startService(cfg, { logger });
    cleanups.push(async () => {
      await service.stop();
    });
    const base = service.http?.url as string;
    await sql(
      src.url,
      `INSERT INTO orders SELECT g, 'new', 'user' || g || '@example.com' FROM generate_series(1, 50) g`,
    );
    await sql(src.url, `UPDATE orders SET status = 'paid' WHERE id <= 10`);

    const out = join(src.dir, 'out.jsonl');
    await waitFor(
      '60 events in the file',
      async () => (await readFile(out, 'utf8').catch(() => '')).trim().split('\n').length >= 60,
    );
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines.some((l) => l.includes('@example.com'))).toBe(false);

    const families = await waitFor('metrics with the slot report', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const fams = parsePrometheusTextFormat(text) as Family[];
      const get = (n: string) => fams.find((f) => f.name === n);
      const written = Number(get('walstream_sink_events_total')?.metrics[0]?.value ?? 0);
      return written >= 60 && get('walstream_slot_retained_wal_bytes')?.metrics.length ? fams : null;
    });
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(byName.get('walstream_events_in_total')?.type).toBe('COUNTER');
    expect(byName.get('walstream_events_in_total')?.metrics[0]).toEqual({
      value: '60',
      labels: { pipeline: 'orders-sync' },
    });
    const perTable = byName.get('walstream_table_events_total')?.metrics ?? [];
    expect(perTable.find((m) => m.labels?.operation === 'INSERT')).toEqual({
      value: '50',
      labels: { pipeline: 'orders-sync', sink: expect.any(String), table: 'public.orders', operation: 'INSERT' },
    });
    expect(perTable.find((m) => m.labels?.operation === 'UPDATE')?.value).toBe('10');
    for (const name of [
      'walstream_confirmed_lsn',
      'walstream_lag_bytes',
      'walstream_lag_seconds',
      'walstream_in_flight_bytes',
      'walstream_process_resident_memory_bytes',
    ]) {
      expect([...byName.keys()]).toContain(name);
    }
    expect(byName.get('walstream_pipeline_state')?.metrics.find((m) => m.labels?.state === 'running')?.value).toBe('1');

    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', problems: [] }]);
    const status = (await (await fetch(`${base}/status`)).json()) as { pipelines: Record<string, unknown>[] };
    expect(status.pipelines[0]).toMatchObject({
      name: 'orders-sync',
      state: 'running',
      eventsIn: 60,
      slot: { slot: src.slot, exists: true, active: true, level: 'ok' },
    });
    expect(JSON.stringify(status)).not.toContain('example.com');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const shut = await fetch(`${base}/shutdown`, { method: 'POST' });
    expect(shut.status).toBe(202);
    expect(await service.done).toBe(0);
    // Nothing a user typed reaches the logs: no connection string, no row value.
    expect(logs.join('')).not.toMatch(/example\.com|postgres:\/\//);
  });

  it('status shows the slot and drop --yes removes slot and publication', async () => {
    const src = await setupSource('drop');
    const file = await writeConfig(src.dir, src.config());
    const env = { SOURCE_URL: src.url };
    const service = await startService(await loadConfig(file, env), {
      noHttp: true,
      logger: createServiceLogger({ level: 'error', format: 'json' }, { destination: { write: () => {} } }),
    });
    await service.stop();

    const st = await cli(['status', '--config', file, '--json'], env);
    expect(st.code).toBe(0);
    expect(JSON.parse(st.out)).toMatchObject({
      slot: { slot: src.slot, exists: true, active: false },
      publication: { exists: true, tables: ['public.orders'] },
    });

    const refused = await cli(['drop', '--config', file], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('not dropped');

    const dropped = await cli(['drop', '--config', file, '--yes'], env);
    expect(dropped.out).toBe(`slot ${src.slot}: dropped; publication orders_pub: dropped\n`);
    const left = await sql(
      src.url,
      `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::int AS s, (SELECT count(*) FROM pg_publication WHERE pubname = 'orders_pub')::int AS p`,
      [src.slot],
    );
    expect(left.rows[0]).toEqual({ s: 0, p: 0 });
  });

  it('refuses to start with a config error, naming file, line and field (exit 2)', async () => {
    const src = await setupSource('cfg');
    const file = await writeConfig(src.dir, src.config().replace('maxWaitMs: 20', 'maxWaitMs: 20, maxEvnets: 5'));
    const r = await cli(['run', '--config', file], { SOURCE_URL: src.url });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`walstream: ${file}:14:29: pipelines.0.batch.maxEvnets: unknown key maxEvnets\n`);
    const missing = await cli(['run', '--config', file]);
    expect(missing.err).toContain(
      `${file}:4:25: pipelines.0.source.connectionString: environment variable SOURCE_URL is not set`,
    );
  });

  it('exits 3 when a pipeline cannot start, without printing the password', async () => {
    const src = await setupSource('start');
    const file = await writeConfig(src.dir, src.config());
    const r = await cli(['run', '--config', file], {
      SOURCE_URL: 'postgres://walstream:s3cret-canary@127.0.0.1:1/none',
    });
    expect(r.code).toBe(3);
    expect(r.err).not.toContain('s3cret-canary');
  });
});

describe('snapshots through the service', () => {
  it('copies existing rows first (snapshot: initial), and takes an on-demand snapshot from `walstream snapshot`', async () => {
    const src = await setupSource('snap');
    await sql(src.url, `INSERT INTO orders SELECT g, 'old', 'o' || g || '@example.com' FROM generate_series(1, 30) g`);
    const file = await writeConfig(
      src.dir,
      src
        .config()
        .replace(
          '      statusIntervalMs: 500',
          '      statusIntervalMs: 500\n      snapshot: { mode: initial, chunkRows: 7 }',
        ),
    );
    const cfg = await loadConfig(file, { SOURCE_URL: src.url });
    const service = await startService(cfg, {
      logger: createServiceLogger({ level: 'error', format: 'json' }, { destination: { write: () => {} } }),
    });
    cleanups.push(async () => {
      await service.stop();
    });
    const out = join(src.dir, 'out.jsonl');
    const ops = async () =>
      (await readFile(out, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { operation: string }).operation);
    await waitFor('30 READ events', async () => (await ops()).filter((o) => o === 'READ').length === 30);

    const base = service.http?.url as string;
    const r = await cli(['snapshot', 'public.orders', '--url', base]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^snapshot \S+ started for public\.orders in pipeline orders-sync; progress: /);
    await waitFor('60 READ events', async () => (await ops()).filter((o) => o === 'READ').length === 60);
    const status = (await (await fetch(`${base}/status`)).json()) as {
      pipelines: { snapshot: { table: string; state: string; rowsDone: number }[] }[];
    };
    expect(status.pipelines[0]?.snapshot.some((t) => t.table === 'public.orders' && t.rowsDone === 30)).toBe(true);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^walstream_snapshot_rows\{pipeline="orders-sync",table="public\.orders"\} 30$/m);
    const refused = await cli(['snapshot', 'public.nope', '--url', base]);
    expect(refused.code).toBe(1);
  });
});
