/**
 * G. Security. G35: least privilege (REPLICATION + SELECT) with a malicious row-security policy on a captured
 * table. Streaming must work and never run the policy; a snapshot must copy every row or fail clearly, and never
 * run the policy either (row_security=off on the reader's connections: Postgres then refuses instead of filtering).
 */
import { type ChangeEvent, createPipeline } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
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
