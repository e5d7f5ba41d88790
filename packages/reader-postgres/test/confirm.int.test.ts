/**
 * What the reader may confirm to Postgres, and what it reports: keepalives never confirm past anything a sink
 * does not hold yet (transactions, non-transactional messages), and status updates tell received from confirmed.
 */
import { type ChangeEvent, createPipeline, parseLsn } from '@walstream/core';
import { createControlledSink, createMemorySink } from '@walstream/core/testing';
import { pgMessageTransform, pgoutputType, startTcpProxy, until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshTable, nextEventWrite, servers, slotInfo, sql } from './helpers.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 1 s walsender timeout (per connection): the server sends a keepalive every 0.5 s. */
const fastKeepalives = (url: string) => ({ connectionString: url, options: '-c wal_sender_timeout=1000' });

describe.each(servers())('Postgres $version confirmation', ({ url: adminUrl }) => {
  it('keepalives never confirm past a transaction the sink has not made durable', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connection: fastKeepalives(url),
      slot,
      publication: 'p',
      tables: ['t'],
      statusIntervalMs: 50,
    });
    const sink = createControlledSink();
    const p = createPipeline({ name: 'guard', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    await sql(url, 'INSERT INTO t VALUES (1)');
    const w = await nextEventWrite(sink);
    // Keepalives keep arriving (their WAL end moves past the transaction) while the sink holds the batch.
    const walEndAtWrite = reader.status().serverWalEnd;
    await sql(url, 'SELECT pg_logical_emit_message(false, $1, $2)', ['unpublished', 'x']); // moves WAL on
    await until(() => reader.status().serverWalEnd !== walEndAtWrite, 'a keepalive after the write');
    await pause(2500); // five keepalives
    const held = (w.batch.events[0] as ChangeEvent).position.lsn;
    expect(parseLsn(reader.status().serverWalEnd as string)).toBeGreaterThan(held);
    // Not past the held transaction's commit. (An idle keepalive that arrived before the INSERT may have
    // confirmed WAL the server wrote meanwhile, e.g. a running-xacts record: that is allowed, and was a race.)
    expect(parseLsn((await slotInfo(url, slot))?.confirmed as string)).toBeLessThan(held);
    w.resolve();
    await until(
      async () => parseLsn((await slotInfo(url, slot))?.confirmed as string) > held,
      'the slot to pass the transaction',
    );
    await p.stop();
  });

  it('keepalives never confirm past a non-transactional message the sink has not made durable', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connection: fastKeepalives(url),
      slot,
      publication: 'p',
      tables: ['t'],
      messages: true,
      statusIntervalMs: 50,
    });
    const sink = createControlledSink();
    const p = createPipeline({ name: 'msg', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    const emitted = await sql(url, 'SELECT pg_logical_emit_message(false, $1, $2)::text AS l', ['app', 'hello']);
    const msgLsn = parseLsn(emitted.rows[0].l);
    const w = await nextEventWrite(sink);
    expect(w.batch.events.map((e) => e.operation)).toEqual(['MESSAGE']);
    await pause(3000); // six keepalives, each past the message
    expect(parseLsn(reader.status().serverWalEnd as string)).toBeGreaterThanOrEqual(msgLsn);
    // Not past the held message (idle WAL before it may have been confirmed: see the test above).
    expect(parseLsn((await slotInfo(url, slot))?.confirmed as string)).toBeLessThan(msgLsn);
    w.resolve();
    await until(
      async () => parseLsn((await slotInfo(url, slot))?.confirmed as string) >= msgLsn,
      'the slot to pass the message',
    );
    await p.stop();
    // A restart does not deliver it again.
    const again = createPostgresReader({ connectionString: url, slot, publication: 'p', messages: true });
    const sink2 = createControlledSink();
    const p2 = createPipeline({ name: 'msg2', reader: again, sinks: [sink2], batch: { maxWaitMs: 0 } });
    await p2.start();
    await sql(url, 'INSERT INTO t VALUES (1)');
    const w2 = await nextEventWrite(sink2);
    expect(w2.batch.events.map((e) => e.operation)).toEqual(['INSERT']);
    w2.resolve();
    await p2.stop();
  });

  it('hands the first transaction after a start to the sink whole, with its commit, however late the commit arrives', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const u = new URL(url);
    const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    try {
      proxy.transform('client', holdFirstCommit());
      const through = new URL(url);
      through.port = String(proxy.port);
      const reader = createPostgresReader({
        connection: fastKeepalives(through.toString()),
        slot,
        publication: 'p',
        tables: ['t'],
      });
      const sink = createControlledSink();
      // A 0 ms batch timer fires while the commit is held: only a known transaction end keeps the batch open.
      const p = createPipeline({ name: 'first', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
      await p.start();
      await sql(url, 'INSERT INTO t VALUES (1), (2)');
      const w = await nextEventWrite(sink);
      expect(w.batch.events.map((e) => e.operation)).toEqual(['INSERT', 'INSERT']);
      expect(w.batch.commits).toHaveLength(1);
      w.resolve();
      await p.stop();
    } finally {
      await proxy.close();
    }
  });

  it('reports the received position as write and the confirmed one as flush', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      statusIntervalMs: 50,
    });
    const sink = createControlledSink();
    const p = createPipeline({ name: 'wf', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    await sql(url, 'INSERT INTO t VALUES (1)');
    const w = await nextEventWrite(sink);
    const stat = async () =>
      (
        await sql(
          url,
          `SELECT write_lsn::text AS w, flush_lsn::text AS f FROM pg_stat_replication
            WHERE pid = (SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1)`,
          [slot],
        )
      ).rows[0] as { w: string | null; f: string | null } | undefined;
    const lsn = (w.batch.events[0] as ChangeEvent).position.lsn;
    await until(async () => {
      const s = await stat();
      return s?.w != null && parseLsn(s.w) >= lsn;
    }, 'write_lsn to reach the received transaction');
    const s = (await stat()) as { w: string; f: string };
    expect(parseLsn(s.f)).toBeLessThan(lsn); // not durable in the sink yet
    w.resolve();
    await until(async () => {
      const x = await stat();
      return x?.f != null && parseLsn(x.f) > lsn;
    }, 'flush_lsn to pass the transaction');
    await p.stop();
  });

  it('a clean stop confirms its last position even when the link is slow (the final update is not reset away)', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const u = new URL(url);
    const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    try {
      const through = new URL(url);
      through.port = String(proxy.port);
      // No periodic status update: only the final one, sent by the stop, can move the slot.
      const reader = createPostgresReader({
        connectionString: through.toString(),
        slot,
        publication: 'p',
        tables: ['t'],
        statusIntervalMs: 600_000,
      });
      const sink = createMemorySink();
      const p = createPipeline({ name: 'slowstop', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
      await p.start();
      const start = parseLsn((await slotInfo(url, slot))?.confirmed as string);
      await sql(url, 'INSERT INTO t SELECT g FROM generate_series(1, 100) g');
      await until(() => sink.events.length === 100, 'the sink to hold the transaction');
      const lsn = (sink.events[99] as ChangeEvent).position.lsn;
      await until(() => (p.status().committed?.lsn ?? 0n) >= lsn, 'the pipeline to commit it');
      // Every byte now arrives 300 ms late, in both directions: the final status update is still on its way to
      // the server when a client that closes its socket right after writing it would reset the connection.
      proxy.delay(300);
      await p.stop();
      await until(async () => (await slotInfo(url, slot))?.active === false, 'the walsender to go');
      const confirmed = parseLsn((await slotInfo(url, slot))?.confirmed as string);
      expect(confirmed).toBeGreaterThan(start);
      expect(confirmed).toBeGreaterThanOrEqual(lsn);
    } finally {
      await proxy.close();
    }
  });
});

/**
 * A proxy transform for the server's side of the stream: holds the first pgoutput Commit and what follows it on
 * its connection, until the first chunk from the server 200 ms or more later (keepalives come every 0.5 s; the one right after a transaction would release it too early).
 */
function holdFirstCommit(): (data: Buffer, connection: number) => Buffer {
  let held: Buffer[] | null = null;
  let heldOn = -1;
  let heldAt = 0;
  return pgMessageTransform({
    chunk(connection) {
      if (held === null || connection !== heldOn || Date.now() - heldAt < 200) return [];
      const out = held;
      held = null;
      return out;
    },
    message(msg, connection) {
      if (heldOn === -1 && pgoutputType(msg) === 'C') {
        held = [];
        heldOn = connection;
        heldAt = Date.now();
      }
      if (held === null || connection !== heldOn) return msg;
      held.push(msg);
      return null;
    },
  });
}
