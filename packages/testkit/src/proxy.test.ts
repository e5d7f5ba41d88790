import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './proxy.js';
import { until } from './until.js';

/** An upstream that echoes, and remembers whether each of its sockets saw the peer go away. */
interface Upstream {
  server: Server;
  port: number;
  sockets: { socket: Socket; ended: boolean; received: number }[];
}

async function startEcho(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), port: 0, sockets: [] };
  u.server.on('connection', (socket) => {
    const s = { socket, ended: false, received: 0 };
    u.sockets.push(s);
    socket.on('data', (d) => {
      s.received += d.length;
      socket.write(d);
    });
    socket.on('end', () => {
      s.ended = true;
    });
    socket.on('close', () => {
      s.ended = true;
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', () => r()));
  u.port = (u.server.address() as { port: number }).port;
  return u;
}

function dial(port: number): Promise<{ socket: Socket; data: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let closed = false;
    const socket = tcpConnect({ host: '127.0.0.1', port }, () =>
      resolve({ socket, data: () => buf, closed: () => closed }),
    );
    socket.on('data', (d) => {
      buf += d.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', reject);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startTcpProxy', () => {
  let up: Upstream;
  let proxy: TcpProxy;
  beforeEach(async () => {
    up = await startEcho();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: up.port });
  });
  afterEach(async () => {
    await proxy.close();
    for (const s of up.sockets) s.socket.destroy();
    await new Promise((r) => up.server.close(r));
  });

  it('forwards both ways and counts connections', async () => {
    const c = await dial(proxy.port);
    c.socket.write('hello');
    await until(() => c.data() === 'hello', 'the echo');
    expect(proxy.connections).toBe(1);
    expect(proxy.accepted).toBe(1);
    c.socket.destroy();
    await until(() => proxy.connections === 0, 'the pair to go');
  });

  it('cut() closes both ends', async () => {
    const c = await dial(proxy.port);
    c.socket.write('x');
    await until(() => c.data() === 'x', 'the echo');
    proxy.cut();
    await until(() => c.closed(), 'the client to see the close');
    await until(() => up.sockets[0]?.ended === true, 'the server to see the close');
  });

  it("cut({ side: 'client' }) leaves the server's end open and silent", async () => {
    const c = await dial(proxy.port);
    c.socket.write('x');
    await until(() => c.data() === 'x', 'the echo');
    proxy.cut({ side: 'client' });
    await until(() => c.closed(), 'the client to see the close');
    await pause(200);
    expect(up.sockets[0]?.ended).toBe(false);
    // The server can keep writing without an error: its bytes go nowhere.
    up.sockets[0]?.socket.write('into the void');
    await pause(50);
    expect(up.sockets[0]?.ended).toBe(false);
    // A new connection works normally.
    const d = await dial(proxy.port);
    d.socket.write('again');
    await until(() => d.data() === 'again', 'the new echo');
    d.socket.destroy();
  });

  it('cut({ connection }) closes only that connection; the others and later ones go on', async () => {
    const a = await dial(proxy.port);
    const b = await dial(proxy.port);
    await until(() => proxy.connectionIds.length === 2, 'two pairs');
    const [first, second] = proxy.connectionIds as [number, number];
    expect(second).toBeGreaterThan(first);
    proxy.cut({ connection: first });
    await until(() => a.closed(), 'the first client to see the close');
    b.socket.write('still');
    await until(() => b.data() === 'still', 'the second echo');
    expect(b.closed()).toBe(false);
    expect(proxy.connectionIds).toEqual([second]);
    b.socket.destroy();
  });

  it('refuse() closes new connections at once and leaves open ones alone; refuse(false) ends it', async () => {
    const a = await dial(proxy.port);
    proxy.refuse();
    const r = await dial(proxy.port);
    await until(() => r.closed(), 'the refused connection to close');
    a.socket.write('open');
    await until(() => a.data() === 'open', 'the open echo');
    proxy.refuse(false);
    const c = await dial(proxy.port);
    c.socket.write('back');
    await until(() => c.data() === 'back', 'the new echo');
    a.socket.destroy();
    c.socket.destroy();
  });

  it('retarget() sends new connections to another server; open ones stay where they were', async () => {
    const other = await startEcho();
    try {
      const a = await dial(proxy.port);
      proxy.retarget('127.0.0.1', other.port);
      const b = await dial(proxy.port);
      a.socket.write('old');
      b.socket.write('new');
      await until(() => a.data() === 'old' && b.data() === 'new', 'both echoes');
      expect(up.sockets.map((x) => x.received)).toEqual([3]);
      expect(other.sockets.map((x) => x.received)).toEqual([3]);
      a.socket.destroy();
      b.socket.destroy();
    } finally {
      for (const x of other.sockets) x.socket.destroy();
      await new Promise((r) => other.server.close(r));
    }
  });

  it("drop('client') discards what the server sends while the client's bytes still arrive; drop(null) ends it", async () => {
    const c = await dial(proxy.port);
    proxy.drop('client');
    c.socket.write('lost');
    await until(() => up.sockets[0]?.received === 4, 'the server to get the bytes');
    await pause(100);
    expect(c.data()).toBe('');
    proxy.drop(null);
    c.socket.write('back');
    await until(() => c.data() === 'back', 'the echo after drop(null)');
    c.socket.destroy();
  });

  it('transform() rewrites what goes to one side, per connection, and may hold bytes back', async () => {
    // Holds everything until a newline, then forwards the line upper-cased.
    const pending = new Map<number, string>();
    proxy.transform('client', (data, conn) => {
      const text = (pending.get(conn) ?? '') + data.toString();
      const end = text.lastIndexOf('\n') + 1;
      pending.set(conn, text.slice(end));
      return Buffer.from(text.slice(0, end).toUpperCase());
    });
    const c = await dial(proxy.port);
    c.socket.write('ab');
    await pause(100);
    expect(c.data()).toBe('');
    c.socket.write('c\n');
    await until(() => c.data() === 'ABC\n', 'the rewritten line');
    proxy.transform('client', null);
    c.socket.write('x');
    await until(() => c.data() === 'ABC\nx', 'the plain echo');
    c.socket.destroy();
  });

  it('stall() holds bytes with sockets open; resume() delivers them in order', async () => {
    const c = await dial(proxy.port);
    proxy.stall();
    c.socket.write('a');
    c.socket.write('b');
    await pause(200);
    expect(up.sockets[0]?.received ?? 0).toBe(0);
    expect(c.data()).toBe('');
    expect(c.closed()).toBe(false);
    proxy.resume();
    await until(() => c.data() === 'ab', 'the held bytes');
    c.socket.destroy();
  });

  it('delay(ms) holds each chunk back, then forwards it', async () => {
    const c = await dial(proxy.port);
    proxy.delay(300);
    c.socket.write('late');
    await pause(100);
    expect(up.sockets[0]?.received ?? 0).toBe(0);
    await until(() => c.data() === 'late', 'the delayed echo');
    proxy.delay(0);
    c.socket.write('!');
    await until(() => c.data() === 'late!', 'the undelayed echo');
    c.socket.destroy();
  });

  it('dropAfter(bytes) passes exactly that many bytes, then cuts', async () => {
    const c = await dial(proxy.port);
    c.socket.write('warm');
    await until(() => c.data() === 'warm', 'the echo');
    proxy.dropAfter(6); // the first 6 bytes reach the server, then both ends close
    c.socket.write('abcdefgh');
    await until(() => c.closed(), 'the cut');
    expect(up.sockets[0]?.received).toBe(4 + 6);
    expect(c.data()).toBe('warm');
    expect(proxy.connections).toBe(0);
  });
});
