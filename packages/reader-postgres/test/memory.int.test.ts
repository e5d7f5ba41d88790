/**
 * Memory and leftovers: transactions without events must not pile up while a sink stalls; spill directories of
 * a crashed run are removed at the next start.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLsn } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { output, runChild, waitForLine } from './children/run.js';
import { freshDatabase, freshTable, servers, slotInfo, slotName, sql } from './helpers.js';

const EMPTY = 1_000_000;

describe.each(servers().filter((s) => s.version === 18))('Postgres $version reader memory', ({ url: adminUrl }) => {
  it(`keeps RSS flat through ${EMPTY.toLocaleString('en-US')} empty transactions while the sink stalls`, async () => {
    const { url, slot } = await freshTable(adminUrl);
    const setup = createPostgresReader({ connectionString: url, slot, publication: 'empty_pub', tables: ['t'] });
    await setup.open();
    await setup.close();
    await sql(url, 'INSERT INTO t VALUES (1)'); // the batch the sink stalls on
    // Each iteration commits a transaction whose only content is a heartbeat message: no event.
    await sql(
      url,
      `DO $$ BEGIN FOR i IN 1..${EMPTY} LOOP
         PERFORM pg_logical_emit_message(true, 'walstream.heartbeat', ''); COMMIT;
       END LOOP; END $$`,
    );
    const end = (await sql(url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    const r = await output(runChild('./empty-txns.ts', [url, slot, end]));
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
    expect(m.timedOut).toBeUndefined();
    expect(m.confirmTimedOut).toBeUndefined();
    expect(m.pendingTransactions).toBeLessThanOrEqual(1);
    expect((m.peakMb as number) - (m.baselineMb as number)).toBeLessThan(64);
    // After the sink let go, the slot moved past every empty transaction.
    expect(parseLsn((await slotInfo(url, slot))?.confirmed as string)).toBeGreaterThanOrEqual(parseLsn(end) - 1024n);
  }, 400_000);

  it('removes spill directories left by a crashed run when it starts', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    await sql(url, `ALTER DATABASE ${url.split('/').pop()} SET logical_decoding_work_mem = '64kB'`);
    const slot = slotName(url);
    const spillDir = await mkdtemp(join(tmpdir(), 'walstream-spilltest-'));
    try {
      const setup = createPostgresReader({ connectionString: url, slot, publication: 'spill_pub', tables: ['t'] });
      await setup.open();
      await setup.close();
      // A streamed transaction still open: the child buffers it and spills it to disk, then is killed.
      const holder = new (await import('pg')).default.Client({ connectionString: url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`);
      const child = runChild('./spill-child.ts', [url, slot, spillDir]);
      await waitForLine(child, 'spilled');
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      const leftovers = () => readdirSync(spillDir, { recursive: true }).length;
      expect(leftovers()).toBeGreaterThan(0);
      await holder.query('ROLLBACK');
      await holder.end();
      const reader = createPostgresReader({
        connectionString: url,
        slot,
        publication: 'spill_pub',
        spillDir,
      });
      await reader.open();
      expect(leftovers()).toBe(0);
      await reader.close();
      expect(existsSync(spillDir)).toBe(true); // the user's folder itself stays
    } finally {
      await rm(spillDir, { recursive: true, force: true });
    }
  }, 120_000);
});
