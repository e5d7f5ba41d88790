import type { ChangeEvent } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { roleMasks } from './payload.js';

const event = {
  id: '0/1:0',
  position: { lsn: 1n, index: 0 },
  operation: 'INSERT',
  timestamp: '2026-01-01T00:00:00+00:00',
  transactionId: '1',
  database: 'db',
  schema: 'public',
  table: 'people',
  key: { id: 1 },
  before: null,
  after: { id: 1, email: 'alice@corp-secret.io', phone: '+1 555 0167', ssn2: '123-45-6789' },
  unchanged: [],
} as ChangeEvent;

describe('roleMasks', () => {
  it("keeps the documented default strategy ('redact') when options only add columns", () => {
    for (const option of [{ extraColumns: ['ssn2'] }, { user: { extraColumns: ['ssn2'] } }]) {
      const after = (roleMasks(option).user(event) as ChangeEvent).after as Record<string, unknown>;
      // Nothing of the value survives: not the e-mail's domain, not the phone's last digits.
      expect(JSON.stringify(after)).not.toMatch(/corp-secret|67|6789/);
      expect(after.id).toBe(1);
    }
  });
});
