/**
 * D25 unknown message: the proxy between the reader and Postgres rewrites the type byte of one pgoutput Insert
 * in the replication stream into one pgoutput does not have ('Z'). Pass: the pipeline stops once with a typed
 * DecodeError that names the message type and holds no row value; it does not reconnect in a loop; nothing of
 * that transaction is confirmed; a restart without the fault delivers it (the slot is not wedged), O1.
 */
import { type Batch, createPipeline, type Sink } from '@walstream/core';
import { createPostgresReader } from '@walstream/reader-postgres';
import {
  PGOUTPUT_TYPE_OFFSET,
  parsePgLsn,
  pgMessageTransform,
  pgoutputType,
  slotConfirmedLsn,
  startTcpProxy,
} from '@walstream/testkit';
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Passes backend messages through whole; once armed, turns the first pgoutput Insert ('I') into 'Z'. */
function corruptFirstInsert() {
  const state = { armed: false, done: false };
  const fn = pgMessageTransform({
    message(msg) {
      if (state.armed && !state.done && pgoutputType(msg) === 'I') {
        msg[PGOUTPUT_TYPE_OFFSET] = 0x5a;
        state.done = true;
      }
      return msg;
    },
  });
  return { fn, state };
}

function arraySink(): Sink & { events: Batch['events'][number][] } {
  const events: Batch['events'][number][] = [];
  return {
    name: 'array',
    events,
    async write(batch) {
      events.push(...batch.events);
    },
  };
}

it('D25 unknown pgoutput message: one typed error without row values, no retry loop, the slot not wedged', async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const u = new URL(s.url);
  const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
  const corrupt = corruptFirstInsert();
  proxy.transform('client', corrupt.fn);
  u.port = String(proxy.port);
  const reader = () =>
    createPostgresReader({
      connectionString: u.toString(),
      slot: s.slot,
      publication: s.publication,
      statusIntervalMs: 50,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
  const sink = arraySink();
  const first = createPipeline({ name: 'd25', reader: reader(), sinks: [sink], batch: { maxWaitMs: 5 } });
  try {
    await first.start();
    await s.workload.tx([1, 2]);
    for (let i = 0; i < 200 && sink.events.length < 2; i++) await pause(20);
    expect(sink.events.length).toBe(2);
    const before = parsePgLsn((await sql(s.url, 'SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string);
    corrupt.state.armed = true;
    await s.workload.tx([3, 4]);
    const err = (await first.done.then(
      () => null,
      (e: unknown) => e,
    )) as (Error & { code?: string }) | null;
    expect(corrupt.state.done).toBe(true);
    expect(err?.code).toBe('DECODE');
    expect(err?.message).toMatch(/unknown message type 0x5a/);
    const row = (await sql(s.url, 'SELECT payload, sha FROM w WHERE id = 3')).rows[0] as {
      payload: string;
      sha: string;
    };
    expect(err?.message).not.toContain(row.payload);
    expect(err?.message).not.toContain(row.sha);
    expect(sink.events.some((e) => e.after?.id === 3)).toBe(false);
    // Stopped once: no reconnect loop through the proxy, and nothing of the bad transaction confirmed.
    const accepted = proxy.accepted;
    await pause(1000);
    expect(proxy.accepted).toBe(accepted);
    expect(await slotConfirmedLsn(s.url, s.slot)).toBeLessThanOrEqual(before);
    // Without the fault a restart delivers it: O1 over everything committed.
    proxy.transform('client', null);
    const again = createPipeline({ name: 'd25b', reader: reader(), sinks: [sink], batch: { maxWaitMs: 5 } });
    await again.start();
    const want = s.workload.versions();
    const seen = () => new Set(sink.events.map((e) => `${e.after?.id}:${e.after?.seq}`));
    for (let i = 0; i < 200 && [...want].some((v) => !seen().has(v)); i++) await pause(20);
    await again.stop();
    expect([...want].filter((v) => !seen().has(v))).toEqual([]);
  } finally {
    await first.stop().catch(() => {});
    await proxy.close();
    await s.close();
  }
});
