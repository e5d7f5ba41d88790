import { describe, expect, it } from 'vitest';
import { eventKeys, parseTopic, routableProject, subscriptionKey, topicTable } from './topics.js';

describe('topics', () => {
  it('parses the three forms and refuses the rest', () => {
    expect(parseTopic('realtime:p1:orders')).toEqual({ kind: 'table', project: 'p1', table: 'orders' });
    expect(parseTopic('realtime:p1:billing.invoices')).toEqual({
      kind: 'table',
      project: 'p1',
      table: 'billing.invoices',
    });
    expect(parseTopic('realtime:p1:*')).toEqual({ kind: 'project', project: 'p1' });
    expect(parseTopic('realtime:global:orders')).toEqual({ kind: 'global', table: 'orders' });
    for (const bad of [
      'realtime:global:*',
      'realtime:p1',
      'realtime::orders',
      'realtime:p1:',
      'other:p1:orders',
      5,
      null,
    ]) {
      expect(parseTopic(bad), String(bad)).toBeNull();
    }
  });

  it('drops the schema for public only', () => {
    expect(topicTable('public', 'orders')).toBe('orders');
    expect(topicTable('billing', 'orders')).toBe('billing.orders');
  });

  it('routes only usable project ids', () => {
    expect(routableProject('p1')).toBe('p1');
    expect(routableProject(42)).toBe('42');
    expect(routableProject(42n)).toBe('42');
    for (const v of [null, undefined, '', 'global', 'a:b', { x: 1 }, true]) expect(routableProject(v)).toBeNull();
  });

  it('an event matches exactly the subscriptions of its table, its project and the global table topic', () => {
    const keys = eventKeys('p1', 'orders');
    const sub = (t: string) => subscriptionKey(parseTopic(t) as NonNullable<ReturnType<typeof parseTopic>>);
    expect(keys).toContain(sub('realtime:p1:orders'));
    expect(keys).toContain(sub('realtime:p1:*'));
    expect(keys).toContain(sub('realtime:global:orders'));
    expect(keys).not.toContain(sub('realtime:p2:orders'));
    expect(keys).not.toContain(sub('realtime:p1:order'));
    expect(eventKeys(null, 'orders')).toEqual([sub('realtime:global:orders')]);
  });
});
