/** `init`, `verify` and the slot lag monitor's warning level, against real servers. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { createServiceLogger } from '../src/service/log.js';
import { startService } from '../src/service/service.js';
import { cli, freshDatabase, sql, tempDir, waitFor, writeConfig } from './helpers.js';

describe('walstream init', () => {
  it('writes a sample config that loads, and refuses to overwrite it without --force', async () => {
    const tmp = await tempDir();
    try {
      const file = join(tmp.dir, 'walstream.yaml');
      const r = await cli(['init', '--out', file]);
      expect([r.code, r.out]).toEqual([0, `wrote ${file}; edit it, then: walstream check --config ${file}\n`]);
      const c = parseConfig(await readFile(file, 'utf8'), file, {});
      expect(c.config.pipelines[0]?.name).toBe('orders-sync');
      expect((await cli(['init', '--out', file])).code).toBe(2);
      expect((await cli(['init', '--out', file, '--force'])).code).toBe(0);
    } finally {
      await tmp.remove();
    }
  });
});

describe('bad arguments are refused before any connection (exit 2, not a connection error)', () => {
  it('types --format and verify --tables', async () => {
    const nowhere = 'postgres://u@127.0.0.1:1/db'; // port 1 refuses: reaching it would say ECONNREFUSED
    const types = await cli(['types', '--connection', nowhere, '--slot', 's', '--publication', 'p', '--format', 'x']);
    expect([types.code, types.err]).toEqual([2, 'walstream: unknown --format x (ts, zod, json-schema)\n']);
    const verify = await cli(['verify', '--source', nowhere, '--target', nowhere, '--tables', 'a,,b']);
    expect(verify.code).toBe(2);
    expect(verify.err).toMatch(/tables: each entry must be a table name/);
  });
});

describe('walstream verify', () => {
  it('says equal when source and replica match, and names the keys that differ (never values) when not', async () => {
    const source = await freshDatabase('vsrc');
    const target = await freshDatabase('vdst');
    for (const url of [source, target]) {
      await sql(
        url,
        `CREATE TABLE t (id int PRIMARY KEY, secret text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g`,
      );
    }
    const ok = await cli(['verify', '--source', source, '--target', target, '--tables', 't']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ equal: true });
    await sql(
      target,
      `UPDATE t SET secret = 'changed-canary' WHERE id = 7; DELETE FROM t WHERE id = 9; INSERT INTO t VALUES (99, 'x')`,
    );
    const bad = await cli(['verify', '--source', source, '--target', target, '--tables', 't']);
    expect(bad.code).toBe(1);
    const r = JSON.parse(bad.out) as {
      equal: boolean;
      tables: { missing: unknown[]; extra: unknown[]; different: unknown[] }[];
    };
    expect(r.equal).toBe(false);
    expect(JSON.stringify(r.tables[0]?.different)).toContain('7');
    expect(JSON.stringify(r.tables[0]?.missing)).toContain('9');
    expect(JSON.stringify(r.tables[0]?.extra)).toContain('99');
    expect(bad.out).not.toContain('changed-canary');
  });
});

describe('slot lag monitor', () => {
  it('raises the level past warnBytes and reports it in status, metrics and the log', async () => {
    const url = await freshDatabase('lag');
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const tmp = await tempDir();
    const slot = `lag_${Date.now().toString(36)}`;
    const file = await writeConfig(
      tmp.dir,
      `pipelines:
  - name: lag
    source: { connectionString: "\${URL}", slot: ${slot}, publication: lag_pub, tables: [t] }
    sinks: [{ file: { path: ${join(tmp.dir, 'out.jsonl')} } }]
http: { port: 0 }
monitor: { intervalMs: 100, warnBytes: 1, criticalBytes: 1099511627776 }
`,
    );
    const logs: string[] = [];
    const logger = createServiceLogger(
      { level: 'info', format: 'json' },
      { destination: { write: (l: string) => void logs.push(l) } },
    );
    const service = await startService(await loadConfig(file, { URL: url }), { logger });
    try {
      await sql(url, `INSERT INTO t SELECT generate_series(1, 100)`);
      const base = service.http?.url as string;
      await waitFor('the warning level', async () => {
        const s = (await (await fetch(`${base}/status`)).json()) as { pipelines: { slot: { level: string } | null }[] };
        return s.pipelines[0]?.slot?.level === 'warning';
      });
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
        new RegExp(`^walstream_slot_lag_level\\{pipeline="lag",slot="${slot}"\\} 1$`, 'm'),
      );
      expect(logs.some((l) => l.includes('"msg":"slot retains a lot of WAL"'))).toBe(true);
    } finally {
      await service.stop();
      await tmp.remove();
    }
  });
});
