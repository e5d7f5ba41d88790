import { until } from '@walstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRealtimeClient, type RealtimePayload, type WebSocketLike } from '../src/client.js';
import { closeServers, events, SECRET, startServer, token, uniquePrefix, write } from './helpers.js';

afterEach(closeServers);

const WS = WebSocket as unknown as new (url: string) => WebSocketLike;

describe('browser client (run here on ws)', () => {
  it('reconnects with backoff after the server goes away and resubscribes every topic', async () => {
    const prefix = uniquePrefix();
    const first = await startServer(prefix);
    const port = first.port;
    const got: { topic: string; payload: RealtimePayload }[] = [];
    const statuses: string[] = [];
    let tokens = 0;
    const client = createRealtimeClient({
      url: `ws://127.0.0.1:${port}/realtime`,
      token: () => {
        tokens++;
        return token({ projects: ['p1'] });
      },
      WebSocket: WS,
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 400,
      onStatus: (s, code) => statuses.push(code === undefined ? s : `${s}:${code}`),
    });
    let subscribed = 0;
    client.subscribe('realtime:p1:orders', (payload, topic) => got.push({ topic, payload }), {
      onSubscribed: () => subscribed++,
    });
    client.subscribe('realtime:p1:*', (payload, topic) => got.push({ topic, payload }), { filter: 'status=eq.paid' });
    await until(() => subscribed === 1 && first.stats().subscriptions === 2, 'subscriptions on the first server');
    await write(first, events([{ table: 'orders', after: { id: 1, project_id: 'p1', status: 'paid' } }]));
    await until(() => got.length === 2, 'first events');

    await first.close();
    await until(() => statuses.includes('closed:1001'), 'the close');
    // a few reconnect attempts fail while nothing listens
    await new Promise((r) => setTimeout(r, 600));
    const second = await startServer(prefix, { port });
    await until(() => subscribed === 2 && second.stats().subscriptions === 2, 'resubscribed on the second server');
    expect(client.status).toBe('open');
    await write(
      second,
      events([
        { table: 'orders', after: { id: 2, project_id: 'p1', status: 'new' } },
        { table: 'orders', after: { id: 3, project_id: 'p1', status: 'paid' } },
      ]),
    );
    await until(() => got.length === 5, 'events after the reconnect');
    expect(got.map((g) => `${g.topic} ${g.payload.record?.id}`)).toEqual([
      'realtime:p1:orders 1',
      'realtime:p1:* 1',
      'realtime:p1:orders 2',
      'realtime:p1:orders 3',
      'realtime:p1:* 3',
    ]);
    expect(tokens).toBeGreaterThanOrEqual(3); // one per connection attempt
    client.close();
    await until(() => second.stats().connections === 0, 'the client gone');
  });

  it('with a token function, reconnects after expiry with a fresh token; unsubscribe stops events', async () => {
    const server = await startServer(uniquePrefix(), { auth: { secret: SECRET, clockToleranceSec: 0 } });
    const codes: number[] = [];
    let first = true;
    const client = createRealtimeClient({
      url: `ws://127.0.0.1:${server.port}/realtime`,
      token: () => {
        // 3 s, not 1: on a loaded machine a 1 s token could expire before the server checked the upgrade, which
        // then refuses it (a 401, not the 4001 close this test is about).
        const t = token({ expiresIn: first ? 3 : 600 });
        first = false;
        return t;
      },
      WebSocket: WS,
      minReconnectDelayMs: 50,
      onStatus: (_s, code) => code !== undefined && codes.push(code),
    });
    const got: number[] = [];
    const off = client.subscribe('realtime:p1:orders', (p) => got.push(p.record?.id as number));
    await until(() => codes.includes(4001), 'expiry');
    await until(() => client.status === 'open' && server.stats().subscriptions === 1, 'reconnected and resubscribed');
    await write(server, events([{ table: 'orders', after: { id: 5, project_id: 'p1' } }]));
    await until(() => got.length === 1, 'the event');
    off();
    await until(() => server.stats().subscriptions === 0, 'unsubscribed');
    client.close();
  });

  it('refresh() extends a fixed-token session; without it the client stops at 4001 and does not reconnect', async () => {
    const server = await startServer(uniquePrefix(), { auth: { secret: SECRET, clockToleranceSec: 0 } });
    const url = `ws://127.0.0.1:${server.port}/realtime`;
    const refreshedCodes: number[] = [];
    const refreshed = createRealtimeClient({
      url,
      token: await token({ expiresIn: 2 }),
      WebSocket: WS,
      onStatus: (_s, code) => code !== undefined && refreshedCodes.push(code),
    });
    const stoppedCodes: number[] = [];
    const stopped = createRealtimeClient({
      url,
      token: await token({ expiresIn: 2 }),
      WebSocket: WS,
      minReconnectDelayMs: 50,
      onStatus: (_s, code) => code !== undefined && stoppedCodes.push(code),
    });
    await until(() => refreshed.status === 'open' && stopped.status === 'open', 'both open');
    await refreshed.refresh(await token({ expiresIn: 600 }));
    await until(() => stoppedCodes.includes(4001), 'the expiry of the other client');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stoppedCodes).toEqual([4001]);
    expect(stopped.status).toBe('closed');
    expect(refreshedCodes).toEqual([]);
    expect(server.stats().connections).toBe(1);
    refreshed.close();
  });

  it('a fixed token found expired on a reconnect stops the client (4001), and refresh(token) starts it again', async () => {
    const server = await startServer(uniquePrefix(), { auth: { secret: SECRET, clockToleranceSec: 0 } });
    const url = `ws://127.0.0.1:${server.port}/realtime`;
    // The server refuses an expired token with HTTP 401, which a browser sees only as close code 1006.
    const codes: number[] = [];
    const errors: string[] = [];
    const rt = createRealtimeClient({
      url,
      token: await token({ expiresIn: -5 }),
      WebSocket: WS,
      minReconnectDelayMs: 20,
      onStatus: (_s, code) => code !== undefined && codes.push(code),
      onError: (f) => errors.push(f.code),
    });
    await until(() => codes.length > 0, 'the client to give up');
    await new Promise((r) => setTimeout(r, 500));
    expect(codes).toEqual([4001]);
    expect(errors).toEqual(['token_expired']);
    expect(rt.status).toBe('closed');
    const got: RealtimePayload[] = [];
    rt.subscribe('p1:public:items', (p) => got.push(p));
    await rt.refresh(await token({ expiresIn: 600 }));
    await until(() => rt.status === 'open', 'the client to connect with the new token');
    rt.close();
  });

  it('reports refused subscriptions to onError', async () => {
    const server = await startServer(uniquePrefix());
    const errors: string[] = [];
    const client = createRealtimeClient({
      url: `ws://127.0.0.1:${server.port}/realtime`,
      token: await token({ projects: ['p1'] }),
      WebSocket: WS,
    });
    client.subscribe('realtime:p9:orders', () => {}, { onError: (f) => errors.push(f.code) });
    await until(() => errors.length === 1, 'the refusal');
    expect(errors).toEqual(['forbidden']);
    client.close();
  });
});
