import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { batchOf, closeServers, connect, events, REDIS, startServer, token, uniquePrefix, write } from './helpers.js';

afterEach(closeServers);

describe('Redis mesh', () => {
  it('two instances through Redis: every client gets every event once, whichever instance it is on', async () => {
    const prefix = uniquePrefix();
    const reader = await startServer(prefix); // the instance whose pipeline reads the slot
    const other = await startServer(prefix); // fans out only what Redis brings
    const onReader = await connect(reader, await token());
    const onOther = await connect(other, await token());
    const wildOther = await connect(other, await token());
    await onReader.subscribe('realtime:p1:orders');
    await onOther.subscribe('realtime:p1:orders');
    await wildOther.subscribe('realtime:p1:*');

    const evs = events(Array.from({ length: 50 }, (_, i) => ({ table: 'orders', after: { id: i, project_id: 'p1' } })));
    await write(reader, evs.slice(0, 25));
    await write(reader, evs.slice(25));
    // a retried write (the pipeline resends a batch after a failure) republishes; clients still see each event once
    await write(reader, evs.slice(20, 30));
    // a marker after the retry, so we know the duplicates had their chance to arrive
    await write(reader, events([{ table: 'orders', after: { id: 999, project_id: 'p1' } }]));
    for (const r of [onReader, onOther, wildOther]) {
      await r.until(() => r.events().some((f) => f.payload?.record?.id === 999), 'the marker');
      expect(r.events().map((f) => f.payload?.record?.id)).toEqual([...Array.from({ length: 50 }, (_, i) => i), 999]);
    }
    expect(reader.stats().published).toBe(61);
    expect(other.stats().duplicatesSkipped).toBe(10);
    expect(other.stats().published).toBe(0);
  });

  it('instances with another channel prefix do not see the events', async () => {
    const a = await startServer(uniquePrefix());
    const b = await startServer(uniquePrefix());
    const onB = await connect(b, await token());
    await onB.subscribe('realtime:p1:orders');
    await write(a, events([{ table: 'orders', after: { id: 1, project_id: 'p1' } }]));
    await new Promise((r) => setTimeout(r, 500));
    expect(onB.events()).toEqual([]);
  });

  it('a foreign message on a mesh channel is ignored and later events still flow', async () => {
    const prefix = uniquePrefix();
    const s = await startServer(prefix);
    const c = await connect(s, await token());
    await c.subscribe('realtime:p1:orders');
    const pub = createClient({ url: REDIS });
    await pub.connect();
    await pub.publish(`${prefix}realtime:p1:orders`, 'not json');
    await pub.publish(`${prefix}realtime:p1:orders`, JSON.stringify([{ id: 'x', table: 'orders' }]));
    await pub.close();
    await write(s, events([{ table: 'orders', after: { id: 7, project_id: 'p1' } }]));
    await c.until(() => c.events().length === 1, 'the event');
    expect(c.events()[0]?.payload?.record?.id).toBe(7);
  });

  it("the sink's write fails (retriable) when Redis cannot be reached", async () => {
    const { createRealtimeServer } = await import('../src/index.js');
    const s = createRealtimeServer({ port: 0, redis: 'redis://127.0.0.1:1', auth: { secret: 'x'.repeat(32) } });
    await expect(s.ready).rejects.toThrow();
    await expect(
      s.sink.write(batchOf(events([{ table: 'orders', after: { id: 1, project_id: 'p1' } }])), {
        signal: new AbortController().signal,
      }),
    ).rejects.toMatchObject({ code: 'SINK', retriable: true });
    await s.close();
  });
});

describe('Redis connection loss', () => {
  it('after its Redis connections are killed, an instance resubscribes and the sink publishes again', async () => {
    const prefix = uniquePrefix();
    const s = await startServer(prefix);
    const c = await connect(s, await token());
    await c.subscribe('realtime:p1:orders');
    await write(s, events([{ table: 'orders', after: { id: 1, project_id: 'p1' } }]));
    await c.until(() => c.events().length === 1, 'the first event');

    const admin = createClient({ url: REDIS });
    await admin.connect();
    const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
    const ours = list
      .split('\n')
      .filter((l) => l.includes(` name=walstream-realtime-`) && l.includes(prefix.replace(/[^A-Za-z0-9:_.-]/g, '_')))
      .map((l) => /\bid=(\d+)/.exec(l)?.[1] as string);
    expect(ours).toHaveLength(2); // subscriber and publisher of this instance only
    for (const id of ours) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    await admin.close();

    // writes may fail while the publisher reconnects (the pipeline would retry them); retry here the same way
    const deadline = Date.now() + 20_000;
    let n = 2;
    while (!c.events().some((f) => (f.payload?.record?.id as number) >= 2)) {
      if (Date.now() > deadline) throw new Error('no event after the reconnect');
      await write(s, events([{ table: 'orders', after: { id: n++, project_id: 'p1' } }])).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(c.closeCode).toBeUndefined();
  });
});
