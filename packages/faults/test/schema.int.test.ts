/**
 * E. Schema change. E28: a captured table is dropped and created again under the same name, with its columns in
 * another order (a new relation id): rows after it must be decoded with the new shape, never the cached one.
 * E29: tables added to and removed from the publication while streaming.
 */
import { createHash } from 'node:crypto';
import { assertPerKeyOrder, assertTargetEqualsSource, parsePgLsn, slotConfirmedLsn } from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const admin = () => inject('faultsPostgres').url;
const sha = (p: unknown) => createHash('sha256').update(String(p)).digest('hex');

async function until(what: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('E28 table replaced: drop and recreate with the same name and a new column order; no stale column mapping', async () => {
  const s = await createScenario(admin(), { publicationFor: 'ALL TABLES' });
  const sinks = [{ name: 'rec' }];
  try {
    const child = s.start({ sinks });
    await child.waitFor('started');
    for (let i = 0; i < 20; i++) await s.workload.tx([i + 1, i + 100]);
    await sql(s.url, 'DROP TABLE w');
    // Same name, columns reordered and one more: a cached mapping by position would put sha in id, and so on.
    await sql(
      s.url,
      "CREATE TABLE w (sha text NOT NULL, payload text NOT NULL, extra text DEFAULT 'new-shape', seq int NOT NULL, id int PRIMARY KEY)",
    );
    for (let i = 0; i < 20; i++) await s.workload.tx([i + 500, i + 600]);
    const want = s.workload.versions();
    await until(async () => {
      const got = new Set((await s.deliveries()).map((d) => `${d.after?.id}:${d.after?.seq}`));
      return [...want].every((v) => got.has(v));
    });
    await s.end(child, 'SIGTERM');
    const all = await s.deliveries();
    const newShape = all.filter((d) => (d.after?.id as number) >= 500);
    expect(newShape.length).toBe(40);
    for (const d of newShape) {
      expect(Object.keys(d.after ?? {}).sort()).toEqual(['extra', 'id', 'payload', 'seq', 'sha']);
      expect(d.after?.extra).toBe('new-shape');
      expect(d.after?.sha).toBe(sha(d.after?.payload));
    }
    for (const d of all.filter((x) => (x.after?.id as number) < 500)) expect(d.after?.sha).toBe(sha(d.after?.payload));
    // O4 on the new table (the old one is gone with no DELETE events, as Postgres sends none for DROP).
    assertPerKeyOrder(all, 'rec');
    await assertTargetEqualsSource(s.url, 'w', newShape, 'rec');
  } finally {
    await s.close();
  }
}, 120_000);

it('E29 publication changed: an added table is picked up, a removed one stops cleanly, the slot advances', async () => {
  const s = await createScenario(admin());
  const sinks = [{ name: 'rec' }];
  try {
    await sql(s.url, 'CREATE TABLE w2 (id int PRIMARY KEY, v text NOT NULL)');
    const child = s.start({ sinks });
    await child.waitFor('started');
    await s.workload.tx([1, 2]);
    await sql(s.url, "INSERT INTO w2 VALUES (1, 'before-add')");
    await sql(s.url, `ALTER PUBLICATION ${s.publication} ADD TABLE w2`);
    await sql(s.url, "INSERT INTO w2 VALUES (2, 'after-add')");
    await s.workload.tx([3, 4]);
    await sql(s.url, `ALTER PUBLICATION ${s.publication} DROP TABLE w`);
    const removed = await s.workload.tx([5, 6]);
    await sql(s.url, "INSERT INTO w2 VALUES (3, 'after-drop')");
    await until(async () => (await s.deliveries()).some((d) => d.after?.v === 'after-drop'));
    const endLsn = (await sql(s.url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    await until(async () => (await slotConfirmedLsn(s.url, s.slot)) >= parsePgLsn(endLsn) - 1000n);
    await s.end(child, 'SIGTERM');
    const all = await s.deliveries();
    const w2 = all.filter((d) => d.table === 'w2').map((d) => d.after?.v);
    expect(w2).toEqual(['after-add', 'after-drop']);
    const w = all.filter((d) => d.table === 'w').map((d) => d.after?.id);
    expect(w.sort()).toEqual([1, 2, 3, 4]);
    expect(all.some((d) => d.xid === removed.xid)).toBe(false);
    // It kept running after both changes and stopped cleanly when told to.
    expect(child.stdout()).toContain('stopped');
  } finally {
    await s.close();
  }
}, 120_000);
