/**
 * G. Security. G35: least privilege (REPLICATION + SELECT) with a malicious row-security policy on a captured
 * table. Streaming must work and never run the policy; a snapshot must copy every row or fail clearly, and never
 * run the policy either (row_security=off on the reader's connections: Postgres then refuses instead of filtering).
 * G34: canary password and canary PII forced through auth failures, a failed start and a decode error; and through
 * the service (`walstream run`): dead letters, an authentication failure mid-run, a decode error and a failed start,
 * with every /metrics and /status body scraped along the way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServiceLogger, ExitCode, loadConfig, startService } from '@walstream/cli';
import { type ChangeEvent, createPipeline, type Logger, WalstreamError } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import { until } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const admin = () => inject('faultsPostgres').url;

const withUser = (url: string, user: string) => url.replace('//postgres@', `//${user}@`);

async function collect(
  reader: ReturnType<typeof createPostgresReader>,
  until: (events: ChangeEvent[]) => boolean,
  ms = 60_000,
): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  const p = createPipeline({
    name: 'g35',
    reader,
    sinks: [
      {
        name: 'mem',
        async write(b) {
          events.push(...b.events);
        },
      },
    ],
    batch: { maxEvents: 100, maxWaitMs: 5 },
  });
  await p.start();
  const end = Date.now() + ms;
  while (!until(events) && Date.now() < end && p.status().state === 'running')
    await new Promise((r) => setTimeout(r, 100));
  const error = p.status().error;
  await p.stop();
  if (error) throw error;
  return events;
}

it('G35 least privilege: REPLICATION + SELECT works, a missing privilege fails at startup, a malicious RLS policy never runs', async () => {
  const s = await createScenario(admin());
  const role = `cdc_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await sql(
      s.url,
      `CREATE FUNCTION evil(id int) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN RETURN id % 2 = 0; END $$;
       ALTER TABLE w ENABLE ROW LEVEL SECURITY;
       CREATE POLICY hide_odd ON w FOR SELECT USING (evil(id));
       CREATE ROLE ${role} LOGIN REPLICATION;
       CREATE ROLE ${role}_norep LOGIN;
       GRANT SELECT ON w TO ${role}, ${role}_norep;`,
    );
    // Calls of evil() are counted by the statistics system from here on (the policy is a pure filter, as a real
    // attack hiding rows would be: no side effect of its own to observe).
    const db = s.url.split('/').pop() as string;
    await sql(s.url, `ALTER DATABASE ${db} SET track_functions = 'all'`);
    for (let i = 1; i <= 10; i += 2) await s.workload.tx([i, i + 1]);

    // Streaming as the limited role.
    const slot = `${s.slot}_ro`.slice(0, 63);
    const reader = () =>
      createPostgresReader({ connectionString: withUser(s.url, role), slot, publication: s.publication });
    const r0 = reader();
    await r0.open();
    await r0.close();
    await s.workload.tx([21, 22, 23]);
    const streamed = await collect(reader(), (e) => e.length >= 3);
    expect(streamed.map((e) => e.after?.id).sort()).toEqual([21, 22, 23]);

    // Initial snapshot as the limited role: every row (the policy would hide the odd ones), or a clear refusal.
    let copied: ChangeEvent[] | null = null;
    let refused: unknown = null;
    try {
      copied = await collect(
        createPostgresReader({
          connectionString: withUser(s.url, role),
          slot: `${s.slot}_snap`.slice(0, 63),
          publication: s.publication,
          snapshot: { mode: 'only' },
        }),
        (e) => e.length >= 13,
        15_000,
      );
    } catch (err) {
      refused = err;
    }
    if (copied !== null) expect(copied.map((e) => e.after?.id as number).sort((a, b) => a - b)).toHaveLength(13);
    else expect(String((refused as Error).message)).toMatch(/row.level security|row_security|permission/i);

    // The policy never ran, neither for streaming nor for the snapshot.
    await new Promise((r) => setTimeout(r, 1500));
    const calls = await sql(
      s.url,
      "SELECT coalesce(sum(calls), 0)::int AS n FROM pg_stat_user_functions WHERE funcname = 'evil'",
    );
    expect(calls.rows[0].n).toBe(0);

    // Without REPLICATION: a clear error at startup, nothing created.
    const bad = createPostgresReader({
      connectionString: withUser(s.url, `${role}_norep`),
      slot: `${s.slot}_norep`.slice(0, 63),
      publication: s.publication,
    });
    const err = await bad.open().then(
      () => null,
      (e: Error) => e,
    );
    await bad.close().catch(() => {});
    expect(err).not.toBeNull();
    expect((err as Error).message).toMatch(/replication|permission/i);
    expect(
      (await sql(s.url, 'SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE $1', [`%_norep`]))
        .rows[0].n,
    ).toBe(0);
  } finally {
    await s.close();
  }
}, 120_000);

/** Every log line, at every level, as text. */
function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(
      `${level} ${msg} ${JSON.stringify(fields ?? {}, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  };
  return {
    logger: { debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error') },
    text: () => lines.join('\n'),
  };
}

/** An error, its causes and its own fields, as text. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    parts.push(
      String((e as Error).message),
      String((e as Error).stack),
      JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    e = (e as Error).cause;
  }
  return parts.join('\n');
}

it('G34 log scan: a canary password and canary PII never appear in logs, errors, status or events', async () => {
  const s = await createScenario(admin());
  const pw = `CANARY-PW-${Math.random().toString(36).slice(2)}`;
  const pii = `CANARY-PII-${Math.random().toString(36).slice(2)}`;
  const role = `canary_${Math.random().toString(36).slice(2, 8)}`;
  const hba = join(inject('faultsPostgres').dataDir, 'pg_hba.conf');
  const original = readFileSync(hba, 'utf8');
  try {
    await sql(s.url, `CREATE ROLE ${role} LOGIN REPLICATION PASSWORD '${pw}'`);
    // This role (only) must give a password; the other lines stay trust.
    writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${original}`);
    await sql(s.url, 'SELECT pg_reload_conf()');
    const seen: string[] = [];

    // 1. Authentication failures, with the canary as a wrong password (URL and connection object) and as the
    //    right password of a failing start (a publication that does not exist).
    const host = new URL(s.url);
    const db = host.pathname.slice(1);
    const attempts = [
      {
        connectionString: `postgres://${role}:${encodeURIComponent(`${pw}x`)}@127.0.0.1:${host.port}/${db}`,
        publication: s.publication,
      },
      {
        connection: { host: '127.0.0.1', port: Number(host.port), user: role, password: `x${pw}`, database: db },
        publication: s.publication,
      },
      {
        connectionString: `postgres://${role}:${encodeURIComponent(pw)}@127.0.0.1:${host.port}/${db}`,
        publication: 'no_such_pub',
      },
    ];
    for (const a of attempts) {
      const log = capturingLogger();
      const r = createPostgresReader({ ...a, slot: `${s.slot}_c`.slice(0, 63), logger: log.logger });
      const err = await r.open().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WalstreamError);
      seen.push(
        errorText(err),
        log.text(),
        JSON.stringify(r.status(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
      );
      await r.close().catch(() => {});
    }

    // 2. A decode error on a row carrying canary PII, through a pipeline (binary mode, a type it cannot decode).
    await sql(
      s.url,
      `CREATE TABLE people (id int PRIMARY KEY, email text, addr inet);
      ALTER PUBLICATION ${s.publication} ADD TABLE people`,
    );
    const log = capturingLogger();
    const events: string[] = [];
    const p = createPipeline({
      name: 'g34',
      logger: log.logger,
      reader: createPostgresReader({
        connectionString: s.url,
        slot: `${s.slot}_pii`.slice(0, 63),
        publication: s.publication,
        binary: true,
        logger: log.logger,
      }),
      sinks: [{ name: 'mem', async write() {} }],
    });
    for (const type of ['retrying', 'dead-letter', 'backpressure', 'started'] as const)
      p.on(type, (e) => events.push(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
    await p.start();
    await sql(s.url, `INSERT INTO people VALUES (1, '${pii}@example.com', '10.0.0.1')`);
    const failed = await p.done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(WalstreamError);
    expect(errorText(failed)).toContain('inet');
    seen.push(
      errorText(failed),
      log.text(),
      events.join('\n'),
      JSON.stringify(p.status(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );

    const all = seen.join('\n');
    expect(all.length).toBeGreaterThan(200);
    expect(all).not.toContain(pw);
    expect(all).not.toContain(pii);
  } finally {
    writeFileSync(hba, original);
    await sql(s.url, 'SELECT pg_reload_conf()').catch(() => {});
    await s.close();
  }
}, 120_000);

/** Every /metrics and /status body the service serves, fetched every 25 ms until stopped (or the service is gone). */
function scrapeAll(base: string): { bodies: string[]; stop: () => Promise<void> } {
  let on = true;
  const bodies: string[] = [];
  const loop = (async () => {
    while (on) {
      for (const path of ['/metrics', '/status']) {
        try {
          bodies.push(await (await fetch(`${base}${path}`)).text());
        } catch {
          // The service stopped (a failed pipeline ends it): nothing more to read.
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    bodies,
    stop: async () => {
      on = false;
      await loop;
    },
  };
}

it('G34 log scan, service telemetry: canaries never appear in /metrics (names, labels, values), /status or logs', async () => {
  const s = await createScenario(admin());
  const pw = `CANARY-PW-${Math.random().toString(36).slice(2)}`;
  const token = `CANARY-TOKEN-${Math.random().toString(36).slice(2)}`;
  const pii = `CANARY-PII-${Math.random().toString(36).slice(2)}`;
  const role = `canary_${Math.random().toString(36).slice(2, 8)}`;
  const hba = join(inject('faultsPostgres').dataDir, 'pg_hba.conf');
  const original = readFileSync(hba, 'utf8');
  // A receiver that fails the first delivery (503: retried, counted by code) and refuses every one for good (400)
  // after that: each batch goes to the dead-letter file.
  const refused: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      refused.push(body);
      res.writeHead(refused.length === 1 ? 503 : 400).end('no');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'walstream-g34-'));
  try {
    await sql(
      s.url,
      `CREATE ROLE ${role} LOGIN REPLICATION PASSWORD '${pw}';
       CREATE TABLE contacts (id int PRIMARY KEY, email text);
       CREATE TABLE people (id int PRIMARY KEY, email text, addr inet);
       GRANT SELECT ON contacts, people TO ${role};
       CREATE PUBLICATION g34_pub FOR TABLE contacts, people`,
    );
    writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${original}`);
    await sql(s.url, 'SELECT pg_reload_conf()');
    const host = new URL(s.url);
    const db = host.pathname.slice(1);
    const port = (receiver.address() as AddressInfo).port;
    const dead = join(dir, 'dead.jsonl');
    const file = join(dir, 'walstream.yaml');
    // binary: true, so the inet column of `people` is a decode error (the reader has no binary inet decoder).
    await writeFile(
      file,
      `pipelines:
  - name: g34
    source:
      connectionString: \${SOURCE_URL}
      slot: ${s.slot}_svc
      publication: g34_pub
      binary: true
      statusIntervalMs: 200
    sinks:
      - webhook:
          url: http://127.0.0.1:${port}/hook
          secret: whsec_${Buffer.from(token).toString('base64')}
          headers: { authorization: Bearer ${token} }
        retry: { maxAttempts: 2, initialDelayMs: 10 }
        deadLetter: { file: { path: ${dead} } }
    batch: { maxWaitMs: 20 }
http: { port: 0 }
monitor: { intervalMs: 100 }
log: { level: debug, format: json }
`,
    );
    const url = (password: string) => `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${host.port}/${db}`;
    const logs: string[] = [];
    const logger = () =>
      createServiceLogger(
        { level: 'debug', format: 'json' },
        { destination: { write: (l: string) => void logs.push(l) } },
      );
    const scraped: string[] = [];
    const seen: string[] = [];

    // 1. Dead letters: rows with canary PII refused by the webhook, then an authentication failure mid-run (the
    //    password changes and the walsender is terminated: the reconnects fail authentication).
    const svc = await startService(await loadConfig(file, { SOURCE_URL: url(pw) }), { logger: logger() });
    const scrape = scrapeAll(svc.http?.url as string);
    await sql(s.url, `INSERT INTO contacts SELECT g, '${pii}-' || g || '@example.com' FROM generate_series(1, 20) g`);
    await until(
      () =>
        scrape.bodies.some((b) => /walstream_dead_lettered_events_total\{[^}]*\} [1-9]/.test(b)) &&
        scrape.bodies.some((b) => /walstream_errors_total\{[^}]*code="[A-Z_]+"\} [1-9]/.test(b)),
      'dead letters and a retried error in /metrics',
    );
    await sql(s.url, `ALTER ROLE ${role} PASSWORD '${pw}-changed'`);
    await sql(
      s.url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'walsender'`,
      [role],
    );
    // The reader retries a failed authentication as a lost connection (a rotated password may come back), logging
    // its SQLSTATE: let it fail, scraped meanwhile, then stop the service.
    await until(() => logs.some((l) => /"sqlState":"28P01"/.test(l)), 'a reconnect refused by authentication');
    const first = await svc.stop();
    await scrape.stop();
    scraped.push(...scrape.bodies);
    seen.push(`exit ${first}`);

    // 2. A decode error on a row with canary PII.
    await sql(s.url, `ALTER ROLE ${role} PASSWORD '${pw}'`);
    const svc2 = await startService(await loadConfig(file, { SOURCE_URL: url(pw) }), { logger: logger() });
    const scrape2 = scrapeAll(svc2.http?.url as string);
    await until(() => scrape2.bodies.length >= 2, 'a scrape');
    await sql(s.url, `INSERT INTO people VALUES (1, '${pii}@example.com', '10.0.0.1')`);
    expect(await svc2.done).toBe(ExitCode.PipelineFailed);
    await scrape2.stop();
    scraped.push(...scrape2.bodies);
    expect(svc2.pipelines[0]?.status().error?.message).toContain('inet');
    seen.push(errorText(svc2.pipelines[0]?.status().error));

    // 3. The canary as a wrong password at start: no telemetry then, only the error and the logs.
    const bad = await startService(await loadConfig(file, { SOURCE_URL: url(`x${pw}`) }), { logger: logger() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(bad).toMatchObject({ exitCode: ExitCode.StartFailed });
    seen.push(errorText(bad));

    // The paths ran: scraped more than once, the rows went to the receiver (dead letters and errors by code were
    // waited for above).
    const metrics = scraped.filter((b) => b.includes('# HELP'));
    expect(metrics.length).toBeGreaterThan(2);
    expect(refused.join('')).toContain(pii);
    const all = [...scraped, ...seen, logs.join('\n'), await readFile(dead, 'utf8')].join('\n');
    expect(all).not.toContain(pw);
    expect(all).not.toContain(token);
    const telemetry = [...scraped, logs.join('\n'), ...seen].join('\n');
    expect(telemetry).not.toContain(pii);
    console.log(
      `G34 service: ${metrics.length} /metrics and ${scraped.length - metrics.length} /status bodies, ${logs.length} log lines, first service exited ${first}`,
    );
  } finally {
    writeFileSync(hba, original);
    await sql(s.url, 'SELECT pg_reload_conf()').catch(() => {});
    receiver.close();
    await rm(dir, { recursive: true, force: true });
    await s.close();
  }
}, 120_000);
