import type { Logger } from '@walstream/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, connect, events, startServer, token, uniquePrefix, write } from './helpers.js';

afterEach(closeServers);

describe('topics', () => {
  it('routes to the table topic, the project wildcard and the admin global topic; schema kept unless public', async () => {
    const server = await startServer(uniquePrefix());
    const table = await connect(server, await token({ projects: ['p1'] }));
    const wildcard = await connect(server, await token({ projects: ['p1'] }));
    const other = await connect(server, await token({ projects: ['p2'] }));
    const admin = await connect(server, await token({ projects: [], role: 'admin' }));
    await table.subscribe('realtime:p1:orders');
    await wildcard.subscribe('realtime:p1:*');
    await other.subscribe('realtime:p2:*');
    await admin.subscribe('realtime:global:orders');
    await admin.subscribe('realtime:global:billing.invoices');

    await write(
      server,
      events([
        { table: 'orders', after: { id: 1, project_id: 'p1', status: 'new' } },
        { table: 'customers', after: { id: 2, project_id: 'p1' } },
        { table: 'orders', after: { id: 3, project_id: 'p2' } },
        { schema: 'billing', table: 'invoices', after: { id: 4, project_id: 'p1' } },
        {
          table: 'orders',
          operation: 'UPDATE',
          before: { id: 1, project_id: 'p1', status: 'new' },
          after: { id: 1, project_id: 'p1', status: 'paid' },
        },
        { table: 'orders', operation: 'DELETE', before: { id: 3, project_id: 'p2' }, after: null },
        {
          table: 'orders',
          operation: 'TRUNCATE',
          key: null,
          after: null,
          truncate: { cascade: false, restartIdentity: false },
        },
      ]),
    );
    await admin.until(() => admin.events().length === 4, 'four admin events');
    await wildcard.until(() => wildcard.events().length === 4, 'four wildcard events');
    await table.until(() => table.events().length === 2, 'two table events');
    await other.until(() => other.events().length === 2, 'two p2 events');

    const ids = (r: typeof table) => r.events().map((f) => f.payload?.record?.id ?? f.payload?.old_record?.id);
    expect(ids(table)).toEqual([1, 1]);
    expect(ids(wildcard)).toEqual([1, 2, 4, 1]);
    expect(ids(other)).toEqual([3, 3]);
    expect(ids(admin)).toEqual([1, 3, 4, 1, 3]);
    expect(admin.events('realtime:global:orders').map((f) => f.payload?.action)).toEqual([
      'INSERT',
      'INSERT',
      'UPDATE',
      'DELETE',
    ]);
    expect(admin.events('realtime:global:billing.invoices').map((f) => f.payload?.table)).toEqual(['billing.invoices']);
    expect(wildcard.events().every((f) => f.topic === 'realtime:p1:*')).toBe(true);

    const update = table.events()[1]?.payload;
    expect(update).toEqual({
      table: 'public.orders',
      action: 'UPDATE',
      record: { id: 1, project_id: 'p1', status: 'paid' },
      old_record: { id: 1, project_id: 'p1', status: 'new' },
      timestamp: '2026-01-01T00:00:00.000Z',
    });
    expect(other.events()[1]?.payload).toMatchObject({ action: 'DELETE', record: null, old_record: { id: 3 } });
  });

  it('an event without a project reaches only the global topic; a project function routes events', async () => {
    const server = await startServer(uniquePrefix(), {
      projectColumn: (e) => (e.table === 'audit' ? null : `${e.database}-tenant`),
    });
    const user = await connect(server, await token({ projects: ['test-tenant'] }));
    const admin = await connect(server, await token({ projects: [], role: 'admin' }));
    await user.subscribe('realtime:test-tenant:*');
    await admin.subscribe('realtime:global:audit');
    await write(
      server,
      events([
        { table: 'audit', after: { id: 1 } },
        { table: 'orders', after: { id: 2 } },
      ]),
    );
    await admin.until(() => admin.events().length === 1, 'the audit event');
    await user.until(() => user.events().length === 1, 'the orders event');
    expect(user.events()[0]?.payload?.table).toBe('public.orders');
  });

  it('an UPDATE that moves a row to another project: a DELETE to the old one, an INSERT without the old row to the new', async () => {
    const server = await startServer(uniquePrefix());
    const p1 = await connect(server, await token({ projects: ['p1'] }));
    const p2 = await connect(server, await token({ projects: ['p2'] }));
    await p1.subscribe('realtime:p1:docs');
    await p2.subscribe('realtime:p2:docs');
    await write(
      server,
      events([
        {
          table: 'docs',
          operation: 'UPDATE',
          before: { id: 7, project_id: 'p1', title: 'P1 acquisition plan' },
          after: { id: 7, project_id: 'p2', title: 'handed over' },
        },
        // Old row with only its key (REPLICA IDENTITY DEFAULT): its project is unknown, the update goes as it is.
        { table: 'docs', operation: 'UPDATE', before: { id: 8 }, after: { id: 8, project_id: 'p2', title: 'x' } },
      ]),
    );
    await p2.until(() => p2.events().length === 2, 'both updates at p2');
    await p1.until(() => p1.events().length === 1, 'the row leaving p1');
    const moved = p2.events()[0]?.payload;
    expect(moved).toMatchObject({ action: 'INSERT', record: { id: 7, project_id: 'p2' } });
    expect(JSON.stringify(p2.raw)).not.toContain('acquisition');
    expect(p2.events()[1]?.payload).toMatchObject({ action: 'UPDATE', old_record: { id: 8 } });
    expect(p1.events()[0]?.payload).toMatchObject({ action: 'DELETE', record: null, old_record: { id: 7 } });
  });

  it('a DELETE without its project column goes to the global topic only, with one warning per table', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`),
    };
    const server = await startServer(uniquePrefix(), { logger });
    const user = await connect(server, await token());
    const admin = await connect(server, await token({ role: 'admin' }));
    await user.subscribe('realtime:p1:orders');
    await admin.subscribe('realtime:global:orders');
    const del = (id: number) => ({ table: 'orders', operation: 'DELETE' as const, before: { id }, after: null });
    await write(server, events([del(1), del(2)]));
    await admin.until(() => admin.events().length === 2, 'the deletes on the global topic');
    expect(user.events()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('public.orders');
    expect(warnings[0]).toContain('REPLICA IDENTITY FULL');
  });

  it('row filters per subscription', async () => {
    const server = await startServer(uniquePrefix());
    const c = await connect(server, await token());
    await c.subscribe('realtime:p1:orders', 'status=eq.completed');
    const c2 = await connect(server, await token());
    await c2.subscribe('realtime:p1:orders', 'amount=gt.100');
    await c2.subscribe('realtime:p1:*', 'status=in.(new,completed)');
    expect(await c.subscribe('realtime:p1:customers', 'status=like.x')).toMatchObject({ code: 'invalid_filter' });
    await write(
      server,
      events([
        { table: 'orders', after: { id: 1, project_id: 'p1', status: 'pending', amount: '99.50' } },
        { table: 'orders', after: { id: 2, project_id: 'p1', status: 'completed', amount: '150.00' } },
        { table: 'orders', after: { id: 3, project_id: 'p1', status: 'new', amount: '1000' } },
        { table: 'orders', operation: 'DELETE', before: { id: 4, project_id: 'p1', status: 'completed' }, after: null },
      ]),
    );
    await c.until(() => c.events().length === 2, 'two completed');
    await c2.until(() => c2.events().length === 5, 'filtered events');
    expect(c.events().map((f) => f.payload?.record?.id ?? f.payload?.old_record?.id)).toEqual([2, 4]);
    expect(c2.events('realtime:p1:orders').map((f) => f.payload?.record?.id)).toEqual([2, 3]);
    expect(c2.events('realtime:p1:*').map((f) => f.payload?.record?.id ?? f.payload?.old_record?.id)).toEqual([
      2, 3, 4,
    ]);
  });
});

describe('masking', () => {
  const secrets = {
    email: 'ada.lovelace@example.org',
    password: 'hunter2-very-secret',
    api_key: 'sk_live_abcdef123456',
    phone: '+44 20 7946 0958',
    full_name: 'Ada Lovelace',
  };
  const sensitive = Object.values(secrets);

  it('no sensitive value in any frame, for users and admins, in record and old_record, nor in filters', async () => {
    const server = await startServer(uniquePrefix());
    const user = await connect(server, await token());
    const admin = await connect(server, await token({ projects: ['p1'], role: 'admin' }));
    await user.subscribe('realtime:p1:users');
    // filtering on a masked column cannot probe its value
    await user.subscribe('realtime:p1:*', `email=eq.${secrets.email}`);
    await admin.subscribe('realtime:global:users');
    await write(
      server,
      events([
        { table: 'users', after: { id: 1, project_id: 'p1', plan: 'pro', ...secrets } },
        {
          table: 'users',
          operation: 'UPDATE',
          before: { id: 1, project_id: 'p1', ...secrets },
          after: { id: 1, project_id: 'p1', plan: 'team', ...secrets },
        },
        { table: 'users', operation: 'DELETE', before: { id: 1, project_id: 'p1', ...secrets }, after: null },
      ]),
    );
    await user.until(() => user.events().length === 3, 'user events');
    await admin.until(() => admin.events().length === 3, 'admin events');
    for (const text of [...user.raw, ...admin.raw]) {
      for (const s of sensitive) expect(text).not.toContain(s);
    }
    expect(user.events('realtime:p1:*')).toEqual([]);
    expect(user.events()[0]?.payload?.record).toMatchObject({
      id: 1,
      plan: 'pro',
      email: '[REDACTED]',
      api_key: '[REDACTED]',
    });
  });

  it('a sensitive key column without mask.hashKey fails the write with a ConfigError; with it, keys are hashed', async () => {
    const server = await startServer(uniquePrefix());
    const row = { email: secrets.email, project_id: 'p1' };
    const evs = events([{ table: 'subscribers', key: { email: secrets.email }, after: row }]);
    await expect(write(server, evs)).rejects.toMatchObject({ code: 'CONFIG' });
    const hashed = await startServer(uniquePrefix(), {
      mask: { strategy: 'redact', hashKey: 'realtime-test-hash-key' },
    });
    const c = await connect(hashed, await token());
    await c.subscribe('realtime:p1:subscribers');
    await write(hashed, evs);
    await c.until(() => c.events().length === 1, 'the event');
    expect(c.raw.join('')).not.toContain(secrets.email);
    expect(c.events()[0]?.payload?.record?.email).toMatch(/^[0-9a-f]{64}$/);
  });

  it('per-role policy: admins see what their policy allows, users stay masked', async () => {
    const server = await startServer(uniquePrefix(), {
      mask: { user: { strategy: 'redact' }, admin: { columns: ['password', 'key'], strategy: 'redact' } },
    });
    const user = await connect(server, await token());
    const admin = await connect(server, await token({ role: 'admin' }));
    await user.subscribe('realtime:p1:users');
    await admin.subscribe('realtime:p1:users');
    await write(server, events([{ table: 'users', after: { id: 1, project_id: 'p1', ...secrets } }]));
    await user.until(() => user.events().length === 1, 'user event');
    await admin.until(() => admin.events().length === 1, 'admin event');
    for (const s of sensitive) expect(user.raw.join('')).not.toContain(s);
    const rec = admin.events()[0]?.payload?.record;
    expect(rec).toMatchObject({ email: secrets.email, password: '[REDACTED]', api_key: '[REDACTED]' });
  });
});
