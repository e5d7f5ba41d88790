import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode } from '../src/index.js';
import {
  closeServers,
  connect,
  events,
  Recorder,
  startServer,
  token,
  uniquePrefix,
  upgradeStatus,
  write,
} from './helpers.js';

afterEach(closeServers);

describe('limits', () => {
  it('drops a slow client with close code 4002; the fast client and the writes go on', async () => {
    const server = await startServer(uniquePrefix(), { maxBufferedBytes: 256 * 1024 });
    const fast = await connect(server, await token());
    const slow = await connect(server, await token());
    await fast.subscribe('realtime:p1:orders');
    await slow.subscribe('realtime:p1:orders');
    slow.ws.pause(); // stops reading its socket: the server's send buffer for it grows

    const blob = 'x'.repeat(4096);
    const total = 6_000; // ~25 MB: more than the kernel's socket buffers hold
    for (let i = 0; i < total; i += 500) {
      await write(
        server,
        events(
          Array.from({ length: 500 }, (_, j) => ({ table: 'orders', after: { id: i + j, project_id: 'p1', blob } })),
        ),
      );
      // Paced by the fast client: 25 MB published at once can pass Redis' pubsub output limit (32 MB) while a
      // loaded machine starves the instance's subscriber, and Redis then drops it (best-effort, see the README).
      await fast.until(() => fast.events().length === i + 500, `event ${i + 500} at the fast client`, 60_000);
    }
    await fast.until(() => fast.events().length === total, 'every event at the fast client', 60_000);
    expect(fast.events().map((f) => f.payload?.record?.id)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(server.stats().slowClientsDropped).toBe(1);
    slow.ws.resume();
    expect(await slow.closed()).toBe(CloseCode.SlowClient);
    expect(slow.events().length).toBeLessThan(total);
    expect(fast.closeCode).toBeUndefined();
  });

  it('counts replies to a client that never reads like events: a flood of bad frames ends with 4002', async () => {
    const server = await startServer(uniquePrefix(), { maxBufferedBytes: 256 * 1024 });
    const c = await connect(server, await token());
    // An error reply names the topic it refuses, cut short: a 60 KB topic is not echoed back whole.
    const long = `realtime:${'x'.repeat(60_000)}`;
    c.send({ type: 'subscribe', topic: long });
    await c.until(() => c.frames.some((f) => f.type === 'error'), 'the refusal');
    expect(c.frames.at(-1)).toMatchObject({ type: 'error', code: 'invalid_topic' });
    expect((c.raw.at(-1) as string).length).toBeLessThan(1024);
    c.ws.pause(); // never reads again: every reply stays in the server's send buffer
    // ~16 MB of replies, past what the kernel's socket buffers take in.
    const bad = JSON.stringify({ type: 'subscribe', topic: `realtime:${'y'.repeat(300)}` });
    for (let i = 0; i < 40_000; i++) c.ws.send(bad);
    c.ws.resume();
    expect(await c.closed()).toBe(CloseCode.SlowClient);
    expect(server.stats().slowClientsDropped).toBe(1);
  });

  it('refuses connections over maxConnections with 503 and subscriptions over the per-client limit', async () => {
    const server = await startServer(uniquePrefix(), { maxConnections: 2, maxSubscriptionsPerClient: 2 });
    const a = await connect(server, await token());
    await connect(server, await token());
    expect(await upgradeStatus(server, await token())).toBe(503);
    expect(await a.subscribe('realtime:p1:a')).toMatchObject({ type: 'subscribed' });
    expect(await a.subscribe('realtime:p1:b')).toMatchObject({ type: 'subscribed' });
    expect(await a.subscribe('realtime:p1:c')).toMatchObject({ type: 'error', code: 'too_many_subscriptions' });
    // re-subscribing to a held topic (to change its filter) is not a new subscription
    expect(await a.subscribe('realtime:p1:a', 'id=gt.1')).toMatchObject({ type: 'subscribed' });
    a.send({ type: 'unsubscribe', topic: 'realtime:p1:b' });
    await a.until(() => a.frames.some((f) => f.type === 'unsubscribed'), 'unsubscribed');
    expect(await a.subscribe('realtime:p1:c')).toMatchObject({ type: 'subscribed' });
    a.ws.send('not json');
    await a.until(() => a.frames.some((f) => f.code === 'invalid_message'), 'invalid_message');
  });

  it('terminates a peer that stops answering pings; live peers stay', async () => {
    const server = await startServer(uniquePrefix(), { pingIntervalMs: 300 });
    const live = await connect(server, await token());
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/realtime?token=${await token()}`, { autoPong: false });
    const dead = new Recorder(ws);
    await new Promise((r) => ws.once('open', r));
    expect(server.stats().connections).toBe(2);
    await dead.closed();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(live.closeCode).toBeUndefined();
    expect(server.stats().connections).toBe(1);
    await write(server, events([{ table: 'orders', after: { id: 1, project_id: 'p1' } }]));
  });
});
