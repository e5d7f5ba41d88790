/**
 * Reconnects: a network cut the server never heard of (the old walsender keeps the slot until
 * wal_sender_timeout), and a cut in the middle of a transaction (nothing handed out twice).
 */
import { type ChangeEvent, createPipeline } from '@walstream/core';
import { createMemorySink } from '@walstream/core/testing';
import { startTcpProxy, until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';

describe.each(servers())('Postgres $version recovery', ({ url: adminUrl, port }) => {
  it('retries "slot is active" after a network cut until the old walsender times out', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const slot = slotName(url);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port });
    try {
      const viaProxy = url.replace(`:${port}/`, `:${proxy.port}/`);
      const reader = createPostgresReader({
        // The old walsender gives up 3 s after the cut (its own timeout); until then the slot is active.
        connection: { connectionString: viaProxy, options: '-c wal_sender_timeout=3000' },
        slot,
        publication: 'p',
        tables: ['t'],
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      const sink = createMemorySink();
      const p = createPipeline({ name: 'cut', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
      await p.start();
      await sql(url, 'INSERT INTO t VALUES (1)');
      await until(() => sink.events.length === 1, 'the first row');
      const oldPid = (await sql(url, 'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]))
        .rows[0].active_pid as number;
      proxy.cut({ side: 'client' }); // the reader sees the cut; the server does not
      await sql(url, 'INSERT INTO t VALUES (2)');
      await until(
        () => {
          if (p.status().state === 'failed') throw new Error(`pipeline failed: ${p.status().error?.message}`);
          return sink.events.length >= 2;
        },
        'the row after the reconnect',
        60_000,
      );
      await sql(url, 'INSERT INTO t VALUES (3)');
      await until(() => sink.events.length >= 3, 'the third row');
      const newPid = (await sql(url, 'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]))
        .rows[0].active_pid as number;
      expect(newPid).not.toBe(oldPid);
      expect(p.status().state).toBe('running');
      await p.stop();
      expect(sink.events.map((e) => e.after?.id)).toEqual([1, 2, 3]);
      expect(reader.status().reconnects).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('hands out nothing twice after a reconnect in the middle of a transaction', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    const slot = slotName(url);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      maxQueueBytes: 32 * 1024, // the socket pauses early, so the server is cut mid-transaction
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    await reader.open();
    await sql(url, `INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`);
    await sql(url, `INSERT INTO t VALUES (20001, 'last')`);
    const seen = new Map<string, number>();
    let commitsSeen = 0;
    let killed = false;
    for await (const item of reader.read()) {
      const kind = (item as { kind?: string }).kind;
      if (kind === 'commit') commitsSeen++;
      if (kind === undefined) {
        const e = item as ChangeEvent;
        seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        if (!killed && seen.size === 500) {
          killed = true;
          await sql(url, 'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [
            slot,
          ]);
        }
      }
      if (commitsSeen === 2) break;
    }
    await reader.close();
    expect(killed).toBe(true);
    expect(reader.status().reconnects).toBe(1);
    expect(seen.size).toBe(20001);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
  });
});
