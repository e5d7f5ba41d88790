import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, createRealtimeServer } from '../src/index.js';
import {
  closeServers,
  connect,
  events,
  REDIS,
  SECRET,
  startServer,
  token,
  uniquePrefix,
  upgradeStatus,
  write,
} from './helpers.js';

afterEach(closeServers);

describe('upgrade refusals', () => {
  it('refuses with 401 without a token, with a bad signature, an expired token, a bad role or claims', async () => {
    const server = await startServer(uniquePrefix());
    expect(await upgradeStatus(server, null)).toBe(401);
    expect(await upgradeStatus(server, await token({ secret: 'another-secret-0123456789abcdefghijkl' }))).toBe(401);
    expect(await upgradeStatus(server, `${(await token()).slice(0, -3)}abc`)).toBe(401);
    expect(await upgradeStatus(server, await token({ expiresIn: -60 }))).toBe(401);
    expect(await upgradeStatus(server, await token({ expiresIn: null }))).toBe(401);
    expect(await upgradeStatus(server, await token({ role: 'root' }))).toBe(401);
    expect(await upgradeStatus(server, 'not-a-jwt')).toBe(401);
    // alg=none must never pass
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"projects":["p1"],"exp":${Math.floor(Date.now() / 1000) + 60}}`).toString('base64url')}.`;
    expect(await upgradeStatus(server, none)).toBe(401);
    expect(await upgradeStatus(server, await token())).toBe(101);
    expect(await upgradeStatus(server, null, { Authorization: `Bearer ${await token()}` })).toBe(101);
    expect(server.stats().connections).toBeLessThanOrEqual(2);
  });

  it('accepts RS256 and ES256 tokens with the matching public key, and refuses HS256 tokens signed with that key', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const pem = await exportSPKI(publicKey);
      const server = await startServer(uniquePrefix(), { auth: { publicKey: pem } });
      const exp = Math.floor(Date.now() / 1000) + 600;
      const good = await new SignJWT({ projects: ['p1'] })
        .setProtectedHeader({ alg })
        .setExpirationTime(exp)
        .sign(privateKey);
      expect(await upgradeStatus(server, good), alg).toBe(101);
      // key confusion: the public key's text used as an HMAC secret
      const confused = await new SignJWT({ projects: ['p1'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(pem));
      expect(await upgradeStatus(server, confused), alg).toBe(401);
      const other = await generateKeyPair(alg);
      const foreign = await new SignJWT({ projects: ['p1'] })
        .setProtectedHeader({ alg })
        .setExpirationTime(exp)
        .sign(other.privateKey);
      expect(await upgradeStatus(server, foreign), alg).toBe(401);
    }
  });

  it('rejects a configuration without a key or with a short secret', () => {
    expect(() => createRealtimeServer({ port: 0, redis: REDIS, auth: {} })).toThrow(/auth/);
    expect(() => createRealtimeServer({ port: 0, redis: REDIS, auth: { secret: 'short' } })).toThrow(/32 bytes/);
  });
});

describe('subscription refusals', () => {
  it('refuses a project outside the token and global topics without admin, with error frames', async () => {
    const server = await startServer(uniquePrefix());
    const user = await connect(server, await token({ projects: ['p1'] }));
    expect(await user.subscribe('realtime:p2:orders')).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await user.subscribe('realtime:p2:*')).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await user.subscribe('realtime:global:orders')).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await user.subscribe('realtime:p1')).toMatchObject({ type: 'error', code: 'invalid_topic' });
    expect(await user.subscribe('orders')).toMatchObject({ type: 'error', code: 'invalid_topic' });
    expect(await user.subscribe('realtime:p1:orders')).toMatchObject({ type: 'subscribed' });
    // a user whose token names `global` as a project still gets no global topic
    const sneaky = await connect(server, await token({ projects: ['global'] }));
    expect(await sneaky.subscribe('realtime:global:orders')).toMatchObject({ type: 'error', code: 'forbidden' });
    const admin = await connect(server, await token({ projects: [], role: 'admin' }));
    expect(await admin.subscribe('realtime:global:orders')).toMatchObject({ type: 'subscribed' });

    await write(server, events([{ table: 'orders', after: { id: 1, project_id: 'p2', status: 'new' } }]));
    await admin.until(() => admin.events().length === 1, 'the admin event');
    expect(user.events()).toEqual([]);
    expect(sneaky.events()).toEqual([]);
  });
});

describe('session expiry', () => {
  it('disconnects with 4001 when the token expires', async () => {
    const server = await startServer(uniquePrefix(), { auth: { secret: SECRET, clockToleranceSec: 0 } });
    const c = await connect(server, await token({ expiresIn: 2 }));
    expect(await c.subscribe('realtime:p1:orders')).toMatchObject({ type: 'subscribed' });
    expect(await c.closed()).toBe(CloseCode.TokenExpired);
  });

  it('a refresh message extends the session; a bad refresh is refused and the session ends on time', async () => {
    const server = await startServer(uniquePrefix(), { auth: { secret: SECRET, clockToleranceSec: 0 } });
    const c = await connect(server, await token({ expiresIn: 2 }));
    expect(await c.subscribe('realtime:p1:orders')).toMatchObject({ type: 'subscribed' });
    c.send({ type: 'refresh', token: await token({ expiresIn: 600 }) });
    await c.until(() => c.frames.some((f) => f.type === 'refreshed'), 'refreshed');
    await new Promise((r) => setTimeout(r, 3_500));
    expect(c.closeCode).toBeUndefined();
    await write(server, events([{ table: 'orders', after: { id: 1, project_id: 'p1' } }]));
    await c.until(() => c.events().length === 1, 'an event after the first expiry');

    const d = await connect(server, await token({ expiresIn: 2 }));
    d.send({
      type: 'refresh',
      token: await token({ expiresIn: 600, secret: 'another-secret-0123456789abcdefghijkl' }),
    });
    await d.until(() => d.frames.some((f) => f.type === 'error' && f.code === 'invalid_token'), 'invalid_token');
    expect(await d.closed()).toBe(CloseCode.TokenExpired);
  });

  it('a refreshed token without a project drops that subscription', async () => {
    const server = await startServer(uniquePrefix());
    const c = await connect(server, await token({ projects: ['p1', 'p2'] }));
    await c.subscribe('realtime:p2:orders');
    c.send({ type: 'refresh', token: await token({ projects: ['p1'] }) });
    await c.until(() => c.frames.some((f) => f.type === 'refreshed'), 'refreshed');
    expect(c.frames).toContainEqual(
      expect.objectContaining({ type: 'error', topic: 'realtime:p2:orders', code: 'forbidden' }),
    );
    await write(server, events([{ table: 'orders', after: { id: 1, project_id: 'p2' } }]));
    expect(server.stats().subscriptions).toBe(0);
  });
});
