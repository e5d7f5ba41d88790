import { describe, expect, it } from 'vitest';
import { createRealtimeClient, type RealtimeClient, type WebSocketLike } from './client.js';

/** A WebSocket the test drives: open, drop, deliver. */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(): void {}
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

const WS = FakeSocket as unknown as new (url: string) => WebSocketLike;
const jwt = (expSec: number) => `h.${Buffer.from(JSON.stringify({ exp: expSec })).toString('base64url')}.s`;
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('realtime client reconnects', () => {
  it('refresh() from inside onStatus after a drop makes one new connection, and close() ends it', async () => {
    FakeSocket.all = [];
    const token = jwt(now() + 600);
    let rt: RealtimeClient | null = null;
    rt = createRealtimeClient({
      url: 'ws://x',
      token,
      WebSocket: WS,
      minReconnectDelayMs: 10,
      onStatus: (s, code) => {
        if (s === 'closed' && code === 1006) void rt?.refresh(token);
      },
    });
    await sleep(5);
    FakeSocket.all[0]?.open();
    FakeSocket.all[0]?.close(1006);
    await sleep(100);
    expect(FakeSocket.all.length).toBe(2);
    rt.close();
    await sleep(50);
    expect(FakeSocket.all.length).toBe(2);
  });

  it('an expired fixed token is reported after createRealtimeClient returned, once; refresh(token) connects', async () => {
    FakeSocket.all = [];
    const seen: string[] = [];
    let rt: RealtimeClient | null = null;
    rt = createRealtimeClient({
      url: 'ws://x',
      token: jwt(now() - 60),
      WebSocket: WS,
      onStatus: (s, code) => seen.push(`${s}${code ?? ''}${rt === null ? ' before return' : ''}`),
      onError: (f) => seen.push(f.code),
    });
    await sleep(20);
    expect(seen).toEqual(['closed4001', 'token_expired']);
    expect(FakeSocket.all.length).toBe(0);
    await rt.refresh(jwt(now() + 600));
    await sleep(5);
    expect(FakeSocket.all.length).toBe(1);
    rt.close();
  });

  it('a token within the server’s default clock tolerance (5 s past exp) is still tried', async () => {
    FakeSocket.all = [];
    const rt = createRealtimeClient({ url: 'ws://x', token: jwt(now() - 2), WebSocket: WS });
    await sleep(10);
    expect(FakeSocket.all.length).toBe(1);
    rt.close();
  });
});
