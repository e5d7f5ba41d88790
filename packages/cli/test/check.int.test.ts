import { startPostgres } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { cli, freshDatabase, sql, tempDir, writeConfig } from './helpers.js';

describe('walstream check', () => {
  it('passes a ready source and prints a pass/warn/fail table', async () => {
    const url = await freshDatabase('chk');
    await sql(url, 'CREATE TABLE orders (id int PRIMARY KEY, v text)');
    const r = await cli([
      'check',
      '--connection',
      url,
      '--slot',
      'chk_slot',
      '--publication',
      'chk_pub',
      '--tables',
      'orders',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^PASS +wal_level +logical$/m);
    expect(r.out).toMatch(/^PASS +REPLICATION privilege/m);
    expect(r.out).toMatch(/^PASS +table public\.orders replica identity +default \(primary key\)$/m);
    expect(r.out).toMatch(/^WARN +publication +chk_pub does not exist; the reader creates it/m);
    expect(r.out).toMatch(/^WARN +max_slot_wal_keep_size +unlimited/m);
    expect(r.out).toMatch(/fix: ALTER SYSTEM SET max_slot_wal_keep_size/);
    expect(r.out).toMatch(/checks: \d+ pass, 2 warn, 0 fail\n$/);
  });

  it('fails a table without a key, a missing SELECT grant, a missing REPLICATION privilege and a missing table, with fixes', async () => {
    const url = await freshDatabase('chkf');
    await sql(url, 'CREATE TABLE "Audit Log" (msg text); CREATE TABLE orders (id int PRIMARY KEY)');
    const role = `chk_${Date.now().toString(36)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN; CREATE PUBLICATION chk_pub FOR TABLE "Audit Log", orders`);
    const asRole = url.replace('postgres@', `${role}@`);
    const r = await cli([
      'check',
      '--connection',
      asRole,
      '--slot',
      's',
      '--publication',
      'chk_pub',
      '--tables',
      '"Audit Log",orders,nope',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const results = JSON.parse(r.out) as { level: string; check: string; fix?: string }[];
    const fail = (check: string) => results.find((x) => x.check === check && x.level === 'fail');
    expect(fail('REPLICATION privilege')?.fix).toBe(`ALTER ROLE "${role}" REPLICATION;`);
    expect(fail('table public.Audit Log replica identity')?.fix).toBe(
      'ALTER TABLE "public"."Audit Log" REPLICA IDENTITY FULL; (or add a primary key)',
    );
    expect(fail('table public.orders SELECT')?.fix).toBe(`GRANT SELECT ON "public"."orders" TO "${role}";`);
    expect(fail('table public.nope')).toBeDefined();
  });

  it('fails wal_level=replica and says how to fix it', async () => {
    const pg = await startPostgres({ version: 15, settings: { wal_level: 'replica' } });
    try {
      const r = await cli([
        'check',
        '--connection',
        pg.connectionString,
        '--slot',
        's',
        '--publication',
        'p',
        '--tables',
        'x',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        /^FAIL +wal_level +is replica, logical replication needs logical\n +fix: ALTER SYSTEM SET wal_level = logical; then restart Postgres$/m,
      );
    } finally {
      await pg.stop();
    }
  });

  it('reads its target from a config file and reports an unreachable server without its password', async () => {
    const tmp = await tempDir();
    try {
      const file = await writeConfig(
        tmp.dir,
        'pipelines:\n  - name: p\n    source: { connectionString: "postgres://u:pw-canary@127.0.0.1:1/db", slot: s, publication: p }\n    sinks: [{ file: { path: x.jsonl } }]\n',
      );
      const r = await cli(['check', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^FAIL +connect +cannot connect to 127\.0\.0\.1:1\/db \(ECONNREFUSED\)/m);
      expect(r.out + r.err).not.toContain('pw-canary');
    } finally {
      await tmp.remove();
    }
  });
});
