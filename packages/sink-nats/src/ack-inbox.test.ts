import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it, vi } from 'vitest';
import { AckInbox } from './ack-inbox.js';
import { HeaderPrefix } from './wire-headers.js';

/** A connection that records publishes; the test answers them (the broker's order cannot be steered). */
function fakeConnection() {
  let deliver!: (err: unknown, msg: Msg) => void;
  const replies: string[] = [];
  const headers: string[] = [];
  const nc = {
    subscribe: (_s: string, o: { callback: (err: unknown, msg: Msg) => void }) => {
      deliver = o.callback;
      return { unsubscribe() {} };
    },
    publish: (_s: string, _p: Uint8Array, o: { reply: string; headers: { encode(): Uint8Array } }) => {
      replies.push(o.reply);
      headers.push(Buffer.from(o.headers.encode()).toString());
    },
  } as unknown as NatsConnection;
  const ack = (i: number, body: object = { stream: 'S', seq: i + 1 }) => {
    const data = Buffer.from(JSON.stringify(body));
    deliver(null, {
      subject: replies[i],
      data,
      headers: undefined,
      json: () => JSON.parse(data.toString()),
    } as unknown as Msg);
  };
  return { nc, replies, headers, ack };
}

const PREFIX = new HeaderPrefix([['Content-Type', 'application/msgpack']]);

describe('AckInbox', () => {
  it('settles each message once, in any order, past a window larger than its first ring', () => {
    const f = fakeConnection();
    const settled: [number, unknown, boolean][] = [];
    const inbox = new AckInbox<{ n: number }>(f.nc, 60_000, (t, err, dup) => settled.push([t.n, err, dup]));
    const n = 5000;
    for (let i = 0; i < n; i++) inbox.send('s', new Uint8Array(1), PREFIX, `id-${i}`, { n: i });
    expect(inbox.pending).toBe(n);
    expect(f.headers[4321]).toContain('Nats-Msg-Id: id-4321\r\n');
    // Odd ones first, backwards, then the even ones; one answered twice, one reply from nobody we know.
    for (let i = n - 1; i >= 0; i -= 2) f.ack(i, { stream: 'S', duplicate: i === 1 });
    for (let i = 0; i < n; i += 2) f.ack(i);
    f.ack(7);
    f.replies.push(`${f.replies[0]?.replace(/\.[^.]+$/, '')}.zzzzzz`);
    f.ack(n);
    expect(settled.length).toBe(n);
    expect(new Set(settled.map((s) => s[0])).size).toBe(n);
    expect(settled.filter((s) => s[1] !== null)).toEqual([]);
    expect(settled.filter((s) => s[2]).map((s) => s[0])).toEqual([1]);
    expect(inbox.pending).toBe(0);
  });

  it('fails an unanswered message at its deadline while later ones are acknowledged, and maps API errors', () => {
    vi.useFakeTimers();
    try {
      const f = fakeConnection();
      const settled = new Map<number, unknown>();
      const inbox = new AckInbox<{ n: number }>(f.nc, 1000, (t, err) => settled.set(t.n, err));
      for (let i = 0; i < 3; i++) inbox.send('s', new Uint8Array(1), PREFIX, `id-${i}`, { n: i });
      f.ack(1);
      f.ack(2, { error: { code: 503, description: 'stream offline' } });
      vi.advanceTimersByTime(999);
      expect(settled.has(0)).toBe(false);
      vi.advanceTimersByTime(2);
      expect((settled.get(0) as Error).name).toBe('TimeoutError');
      expect(settled.get(1)).toBeNull();
      expect((settled.get(2) as Error & { api_error: { code: number } }).api_error.code).toBe(503);
      f.ack(0); // too late: already failed, not settled twice
      expect(settled.size).toBe(3);
      expect(inbox.pending).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives back a ring grown behind a lost ack once that ack times out', () => {
    vi.useFakeTimers();
    try {
      const f = fakeConnection();
      const failed: number[] = [];
      const inbox = new AckInbox<{ n: number }>(f.nc, 1000, (t, err) => err && failed.push(t.n));
      // Message 0's ack never comes; 50,000 later ones are acknowledged as they go (a window of 1).
      inbox.send('s', new Uint8Array(1), PREFIX, 'id-0', { n: 0 });
      for (let i = 1; i <= 50_000; i++) {
        inbox.send('s', new Uint8Array(1), PREFIX, `id-${i}`, { n: i });
        f.ack(i);
      }
      expect(inbox.pending).toBe(1);
      expect(inbox.capacity).toBeGreaterThanOrEqual(65_536);
      vi.advanceTimersByTime(1001);
      expect(failed).toEqual([0]);
      expect(inbox.capacity).toBe(1024);
      // And it still works: sequences go on where they were.
      inbox.send('s', new Uint8Array(1), PREFIX, 'id-next', { n: 50_001 });
      f.ack(50_001);
      expect(inbox.pending).toBe(0);
      expect(failed).toEqual([0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails what waits when it closes, and a message whose id would break the header block', () => {
    const f = fakeConnection();
    const settled: [number, unknown][] = [];
    const inbox = new AckInbox<{ n: number }>(f.nc, 60_000, (t, err) => settled.push([t.n, err]));
    inbox.send('s', new Uint8Array(1), PREFIX, 'bad\r\nX: 1', { n: 0 });
    inbox.send('s', new Uint8Array(1), PREFIX, 'ok', { n: 1 });
    expect(settled.map(([n, e]) => [n, (e as Error).message])).toEqual([[0, expect.stringMatching(/CR or LF/)]]);
    inbox.close(new Error('closing'));
    expect(settled.map(([n, e]) => [n, (e as Error).message])[1]).toEqual([1, 'closing']);
    expect(inbox.pending).toBe(0);
  });
});
