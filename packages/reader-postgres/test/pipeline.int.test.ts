import { type ChangeEvent, createPipeline, parseLsn, type SchemaChange } from '@walstream/core';
import { createControlledSink, createMemorySink } from '@walstream/core/testing';
import { until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import {
  collect,
  commits,
  events,
  freshDatabase,
  freshTable,
  nextEventWrite,
  servers,
  slotInfo,
  slotName,
  sql,
  terminateWalsender,
} from './helpers.js';

describe.each(servers())('Postgres $version with a Pipeline', ({ url: adminUrl, version }) => {
  it('confirms to the slot only what the sink holds, never while it is stalled', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      statusIntervalMs: 50,
    });
    const sink = createControlledSink();
    const p = createPipeline({ name: 'confirm', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    const start = (await slotInfo(url, slot))?.confirmed as string;
    await sql(url, 'INSERT INTO t VALUES (1)');
    const w = await nextEventWrite(sink);
    // The sink has the batch but has not made it durable: nothing may move.
    await new Promise((r) => setTimeout(r, 300));
    expect((await slotInfo(url, slot))?.confirmed).toBe(start);
    const [event] = w.batch.events;
    w.resolve();
    // Then the slot moves past the transaction (its end LSN), not further than the server's WAL.
    await until(async () => (await slotInfo(url, slot))?.confirmed !== start, 'the slot to advance');
    const confirmed = parseLsn((await slotInfo(url, slot))?.confirmed as string);
    expect(confirmed).toBeGreaterThan((event as ChangeEvent).position.lsn);
    await p.stop();
  });

  it('keeps the walsender alive with status updates while the socket is paused, then resumes', async () => {
    const { url, slot } = await freshTable(adminUrl, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    const reader = createPostgresReader({
      // A 1 s walsender timeout (per connection): without our status updates the server would end the stream.
      connection: { connectionString: url, options: '-c wal_sender_timeout=1000' },
      slot,
      publication: 'p',
      tables: ['t'],
      statusIntervalMs: 200,
      maxQueueBytes: 64 * 1024,
    });
    const sink = createControlledSink();
    const p = createPipeline({
      name: 'paused',
      reader,
      sinks: [sink],
      maxInFlightBytes: 256 * 1024,
      batch: { maxBytes: 64 * 1024 },
    });
    await p.start();
    await sql(url, `INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g`);
    const first = await sink.nextWrite(); // the sink now holds everything back
    await until(() => reader.status().paused, 'the socket to pause');
    await new Promise((r) => setTimeout(r, 3000)); // three walsender timeouts
    expect(reader.status()).toMatchObject({ paused: true, state: 'streaming', reconnects: 0 });
    expect((await slotInfo(url, slot))?.active).toBe(true);
    first.resolve();
    let rows = first.batch.events.length;
    // Up to the batch with the commit: the last rows end a slice (k * maxEvents), so the commit may come alone.
    let last = first.batch;
    while (rows < 50000 || last.commits.length === 0) {
      const w = await sink.nextWrite();
      rows += w.batch.events.length;
      last = w.batch;
      w.resolve();
    }
    await p.stop();
    expect(rows).toBe(50000);
    expect(reader.status().reconnects).toBe(0);
  });

  it('confirms the keepalive position of an idle slot, so unpublished writes do not pin WAL', async () => {
    const { url, slot } = await freshTable(
      adminUrl,
      'CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE other (id int PRIMARY KEY)',
    );
    const reader = createPostgresReader({
      connection: { connectionString: url, options: '-c wal_sender_timeout=1000' }, // keepalives every 0.5 s
      slot,
      publication: 'p',
      tables: ['t'],
      statusIntervalMs: 100,
    });
    const p = createPipeline({ name: 'idle', reader, sinks: [createMemorySink()] });
    await p.start();
    await sql(url, 'INSERT INTO other SELECT g FROM generate_series(1, 1000) g'); // not published
    const after = parseLsn((await sql(url, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
    await until(
      async () => parseLsn(((await slotInfo(url, slot)) as { confirmed: string }).confirmed) >= after,
      'the idle slot to advance',
    );
    const lag = await reader.lag();
    expect(lag.confirmedLsn).not.toBeNull();
    expect(lag.bytes).toBeGreaterThanOrEqual(0);
    await p.stop();
  });

  it('reports unchanged TOAST columns as unchanged, never null', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE docs (id int PRIMARY KEY, body text, n int)');
    await sql(url, 'ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['docs'],
    });
    await reader.open();
    await sql(url, `INSERT INTO docs VALUES (1, repeat('x', 10000), 1)`);
    await sql(url, 'UPDATE docs SET n = 2 WHERE id = 1');
    const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
    const [ins, upd] = events(items) as ChangeEvent[];
    expect(ins?.after?.body).toHaveLength(10000);
    expect(upd?.unchanged).toEqual(['body']);
    expect(upd?.after).toEqual({ id: 1, n: 2 });
    expect(Object.keys(upd?.after ?? {})).not.toContain('body');
    await reader.close();
  });

  it('yields a schema change before the first row in the new shape', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, a text)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
    });
    await reader.open();
    await sql(url, `INSERT INTO t VALUES (1, 'x')`);
    await sql(url, 'ALTER TABLE t ADD COLUMN b int8');
    await sql(url, `INSERT INTO t VALUES (2, 'y', 5)`);
    const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
    const kinds = items.map((i) => (i as { kind?: string }).kind ?? (i as ChangeEvent).operation);
    expect(kinds).toEqual(['schema', 'INSERT', 'commit', 'schema', 'INSERT', 'commit']);
    const second = items[3] as SchemaChange;
    expect(second.previous?.columns.map((c) => c.name)).toEqual(['id', 'a']);
    expect(second.schema.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['id:integer', 'a:text', 'b:bigint']);
    expect((items[4] as ChangeEvent).after).toEqual({ id: 2, a: 'y', b: 5n });
    await reader.close();
  });

  it('delivers a streamed transaction once, at commit, without its rolled-back savepoint', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    // The walsender of this database streams any transaction past 64 kB.
    await sql(url, `ALTER DATABASE ${url.split('/').pop()} SET logical_decoding_work_mem = '64kB'`);
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      streamMemoryBytes: 64 * 1024, // spill to disk too
    });
    await reader.open();
    await sql(
      url,
      `BEGIN;
       INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g;
       SAVEPOINT s1;
       INSERT INTO t SELECT g, 'rolled back' FROM generate_series(3001, 6000) g;
       ROLLBACK TO SAVEPOINT s1;
       INSERT INTO t SELECT g, 'kept' FROM generate_series(6001, 7000) g;
       COMMIT;`,
    );
    await sql(url, `INSERT INTO t VALUES (9999, 'after')`);
    const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
    const evs = events(items) as ChangeEvent[];
    expect(evs).toHaveLength(4001);
    const ids = evs.map((e) => e.after?.id as number);
    expect(ids.slice(0, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(ids.filter((i) => i > 3000 && i <= 6000)).toEqual([]);
    expect(ids.at(-1)).toBe(9999);
    expect(new Set(evs.slice(0, 4000).map((e) => e.position.lsn)).size).toBe(1);
    expect(evs.slice(0, 4000).map((e) => e.position.index)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    const status = reader.status();
    expect(status.bufferedTransactionBytes).toBe(0);
    expect(status.streamedTransactions).toBe(1);
    expect(status.spilledTransactions).toBe(1);
    await reader.close();
  });

  it('delivers MESSAGE events and hides its own heartbeats', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      messages: true,
      heartbeat: { intervalMs: 20 },
    });
    await reader.open();
    await sql(url, `BEGIN; SELECT pg_logical_emit_message(true, 'app', 'hello'); INSERT INTO t VALUES (1); COMMIT;`);
    // Heartbeat transactions carry no event and yield no commit item (the reader folds their end in).
    const items = await collect(reader.read(), (xs) => events(xs).length === 2 && commits(xs).length >= 1);
    const evs = events(items) as ChangeEvent[];
    expect(evs.map((e) => e.operation)).toEqual(['MESSAGE', 'INSERT']);
    expect(Buffer.from(evs[0]?.message?.content as Uint8Array).toString()).toBe('hello');
    expect(evs[0]?.message?.prefix).toBe('app');
    await reader.close();
  });

  it.runIf(version >= 15)(
    'delivers a prepared transaction at COMMIT PREPARED and drops a rolled-back one',
    async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE t (id int PRIMARY KEY)');
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'p',
        tables: ['t'],
        twoPhase: true,
      });
      await reader.open();
      await sql(url, `BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'a'`);
      await sql(url, `BEGIN; INSERT INTO t VALUES (2); PREPARE TRANSACTION 'b'`);
      await sql(url, `ROLLBACK PREPARED 'b'`);
      await sql(url, `COMMIT PREPARED 'a'`);
      await sql(url, 'INSERT INTO t VALUES (3)');
      const items = await collect(reader.read(), (xs) => commits(xs).length === 2);
      expect((events(items) as ChangeEvent[]).map((e) => e.after?.id)).toEqual([1, 3]);
      await reader.close();
    },
  );

  it('reconnects after the walsender is killed and hands out nothing twice', async () => {
    const { url, slot } = await freshTable(adminUrl);
    const reader = createPostgresReader({
      connectionString: url,
      slot,
      publication: 'p',
      tables: ['t'],
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const sink = createMemorySink();
    const p = createPipeline({ name: 'reconnect', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    await sql(url, 'INSERT INTO t VALUES (1)');
    await until(() => sink.events.length === 1, 'the first row');
    await terminateWalsender(url, slot);
    await sql(url, 'INSERT INTO t VALUES (2)');
    await until(() => sink.events.length >= 2, 'the row after the reconnect');
    await sql(url, 'INSERT INTO t VALUES (3)');
    await until(() => sink.events.length >= 3, 'the third row');
    await p.stop();
    expect(sink.events.map((e) => e.after?.id)).toEqual([1, 2, 3]);
    expect(reader.status().reconnects).toBe(1);
  });
});
