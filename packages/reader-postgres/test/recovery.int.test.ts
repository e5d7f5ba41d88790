/**
 * Reconnects: a network cut the server never heard of (the old walsender keeps the slot until
 * wal_sender_timeout), and a cut in the middle of a transaction (nothing handed out twice).
 */
import { type ChangeEvent, createPipeline } from '@walstream/core';
import { createMemorySink } from '@walstream/core/testing';
import { startTcpProxy, type TcpProxy, until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresReader, type PostgresReaderOptions } from '../src/index.js';
import { freshTable, servers, slotInfo, sql, terminateWalsender } from './helpers.js';

describe.each(servers())('Postgres $version recovery', ({ url: adminUrl, port }) => {
  it('retries "slot is active" after a network cut until the old walsender times out', async () => {
    const { url, slot } = await freshTable(adminUrl);
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
    const { url, slot } = await freshTable(adminUrl, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
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
          await terminateWalsender(url, slot);
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
  it('leaves no replication connection behind when closed while it reconnects', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      // Long enough to close during the wait before the new connection.
      reconnect: { initialDelayMs: 800, maxDelayMs: 800 },
    });
    await reader.open();
    await sql(url, 'INSERT INTO t VALUES (1)');
    const it = reader.read()[Symbol.asyncIterator]();
    let first = await it.next();
    while (!first.done && (first.value as { kind?: string }).kind !== undefined) first = await it.next();
    expect((first.value as ChangeEvent).after).toEqual({ id: 1 });
    const rest = drain(it);
    await terminateWalsender(url, slot);
    await until(() => reader.status().state === 'reconnecting', 'the reader reconnecting');
    await reader.close();
    await rest; // the reading ends once closed
    // Past the backoff and a connection attempt: nothing may hold the slot again.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await slotInfo(url, slot))?.active).toBe(false);
    expect(reader.status().state).toBe('closed');
  }, 60_000);
  it('leaves no replication connection behind when closed while the new connection is being made', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port });
    try {
      const reader = readerVia(proxy, url, port, slot, { reconnect: { initialDelayMs: 20, maxDelayMs: 20 } });
      await reader.open();
      const it = reader.read()[Symbol.asyncIterator]();
      const rest = drain(it);
      // Every chunk from now on arrives 400 ms late: the reconnect's handshake takes seconds.
      proxy.delay(400);
      await terminateWalsender(url, slot);
      await until(() => reader.status().state === 'reconnecting', 'the reader reconnecting', 20_000);
      await new Promise((r) => setTimeout(r, 600)); // past the backoff: connecting now
      await reader.close(); // waits for the handshake under way, then ends that connection
      expect((await slotInfo(url, slot))?.active).toBe(false);
      // The backend of that connection exits right after its Terminate, well before a delayed handshake (seconds)
      // would have finished had close() not waited for it.
      await until(async () => (await readerBackends(url)) === 0, 'the reader has no backend left', 1500);
      await rest;
      expect(reader.status().state).toBe('closed');
      expect(reader.status().reconnects).toBe(0);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await slotInfo(url, slot))?.active).toBe(false);
    } finally {
      await proxy.close();
    }
  }, 90_000);
  it('close() during a silent partition ends within its bound and leaves no socket open', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port });
    try {
      const reader = readerVia(proxy, url, port, slot);
      await reader.open();
      await sql(url, 'INSERT INTO t VALUES (1)');
      const it = reader.read()[Symbol.asyncIterator]();
      let first = await it.next();
      while (!first.done && (first.value as { kind?: string }).kind !== undefined) first = await it.next();
      const rest = drain(it);
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const before = sockets();
      proxy.stall(); // nothing moves either way; the sockets stay open (a dead link the kernel has not noticed)
      const t0 = Date.now();
      await reader.close();
      const took = Date.now() - t0;
      await rest;
      // The server cannot answer the end of the stream: close() waits for it a bounded time, then drops the socket.
      expect(took).toBeLessThan(15_000);
      expect(reader.status().state).toBe('closed');
      await until(() => sockets() < before, 'the replication socket closed', 5_000);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('starts nothing when closed while it opens: no replication connection, no heartbeat connection', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      heartbeat: { intervalMs: 200 },
    });
    const opening = reader.open();
    await reader.close(); // before the replication connection exists
    await opening.catch(() => {});
    await until(async () => (await readerBackends(url)) === 0, 'every connection of the reader gone', 15_000);
    await new Promise((r) => setTimeout(r, 2000)); // a heartbeat or status timer left running would show now
    expect(await readerBackends(url)).toBe(0);
    expect((await slotInfo(url, slot))?.active ?? false).toBe(false); // no slot, or not in use
    expect(reader.status().state).toBe('closed');
  }, 60_000);
});

/** A reader of table t (publication p) that reaches the server through `proxy`. */
function readerVia(
  proxy: TcpProxy,
  url: string,
  port: number,
  slot: string,
  more: Partial<PostgresReaderOptions> = {},
) {
  return createPostgresReader({
    connectionString: url.replace(`:${port}/`, `:${proxy.port}/`),
    slot,
    publication: 'p',
    tables: ['t'],
    ...more,
  });
}

/** Client and walsender backends of the test's database other than the asking one (autovacuum left out). */
async function readerBackends(url: string): Promise<number> {
  const r = await sql(
    url,
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type IN ('client backend', 'walsender')`,
  );
  return Number(r.rows[0].n);
}

/** Reads the rest of an iteration, dropping it; resolves when it ends. */
async function drain(it: AsyncIterator<unknown>): Promise<void> {
  for (let r = await it.next(); !r.done; r = await it.next()) {}
}
