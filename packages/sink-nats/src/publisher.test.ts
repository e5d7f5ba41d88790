import { describe, expect, it } from 'vitest';
import { AckGroup, OrderedPublisher, type SendFn } from './publisher.js';
import { HeaderPrefix } from './wire-headers.js';

/**
 * A transport whose acks the test settles by hand: the order in which a broker answers cannot be
 * steered on a real server, and that order is what the fence is about.
 */
function fakeJs() {
  const sent: { msgID: string; resolve: (duplicate?: boolean) => void; reject: (e: unknown) => void }[] = [];
  let p: OrderedPublisher;
  const send: SendFn = (_subject, _payload, _headers, msgID, group) => {
    sent.push({
      msgID,
      resolve: (duplicate = false) => p.settled(group, null, duplicate),
      reject: (e) => p.settled(group, e, false),
    });
  };
  const publisher = (window: number) => {
    p = new OrderedPublisher(send, window);
    return p;
  };
  return { publisher, sent, ids: () => sent.map((s) => s.msgID) };
}

const HEADERS = new HeaderPrefix([['Content-Type', 'application/msgpack']]);
const tick = () => new Promise((r) => setTimeout(r, 0));
const submit = (p: OrderedPublisher, g: AckGroup, id: string) => p.submit(g, 'cdc.t', new Uint8Array(1), HEADERS, id);

describe('OrderedPublisher', () => {
  it('keeps at most `window` acks outstanding across groups and publishes in submission order', async () => {
    const f = fakeJs();
    const p = f.publisher(2);
    const a = new AckGroup();
    const b = new AckGroup();
    for (const id of ['a1', 'a2', 'a3']) submit(p, a, id);
    for (const id of ['b1', 'b2']) submit(p, b, id);
    expect(f.ids()).toEqual(['a1', 'a2']);
    f.sent[1]?.resolve();
    await tick();
    expect(f.ids()).toEqual(['a1', 'a2', 'a3']);
    for (let i = 0; i < 5; i++) {
      f.sent[i]?.resolve(i === 4);
      await tick();
    }
    await Promise.all([a.seal(), b.seal()]);
    expect(f.ids()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(b.duplicates).toBe(1);
  });

  it('after a failed message publishes nothing more until every message under way settled; a write fails only once all its messages settled', async () => {
    const f = fakeJs();
    const p = f.publisher(2);
    const a = new AckGroup();
    const b = new AckGroup();
    for (const id of ['a1', 'a2', 'a3']) submit(p, a, id);
    for (const id of ['b1', 'b2']) submit(p, b, id);
    const aDone = a.seal();
    const bDone = b.seal();
    let aSettled = false;
    aDone
      .catch(() => {})
      .finally(() => {
        aSettled = true;
      });
    f.sent[0]?.reject(new Error('503 no responders')); // a1 is lost; a2 is under way
    await tick();
    expect(f.ids()).toEqual(['a1', 'a2']); // a3, b1, b2 are refused, not sent after the lost a1
    expect(aSettled).toBe(false); // a2 has not settled: the write is not over yet
    await expect(bDone).rejects.toThrow('503');
    submit(p, new AckGroup(), 'c1'); // something new while a2 is still under way: refused too
    await tick();
    expect(f.ids()).toEqual(['a1', 'a2']);
    f.sent[1]?.resolve();
    await expect(aDone).rejects.toThrow('503');
    // Nothing under way any more: the retry (oldest first) goes out.
    const retry = new AckGroup();
    for (const id of ['a1', 'a2', 'a3']) submit(p, retry, id);
    expect(f.ids()).toEqual(['a1', 'a2', 'a1', 'a2']);
  });

  it('refuses everything while disconnected and publishes again after the reconnect', async () => {
    const f = fakeJs();
    const p = f.publisher(10);
    p.disconnected(new Error('connection lost'));
    const g = new AckGroup();
    submit(p, g, 'x1');
    await expect(g.seal()).rejects.toThrow('connection lost');
    expect(f.ids()).toEqual([]);
    p.reconnected();
    const h = new AckGroup();
    submit(p, h, 'x1');
    expect(f.ids()).toEqual(['x1']);
  });
});
