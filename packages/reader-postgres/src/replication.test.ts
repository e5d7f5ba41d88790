import { ErrorCode } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { mapServerError } from './replication.js';

const serverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('mapServerError', () => {
  // The wording of an invalidated slot's START_REPLICATION error changed in PostgreSQL 17.
  it.each([
    ['PostgreSQL 13-16', 'cannot read from logical replication slot "s"'],
    ['PostgreSQL 17+', 'can no longer access replication slot "s"'],
    ['WAL removed', 'can no longer get changes from replication slot "s"'],
  ])('maps an invalidated slot (%s) to SLOT_INVALIDATED', (_v, message) => {
    expect(mapServerError(serverError('55000', message), 's')).toMatchObject({ code: ErrorCode.SlotInvalidated });
  });

  it('leaves other 55000 errors alone', () => {
    expect(mapServerError(serverError('55000', 'something else'), 's')).toMatchObject({ code: ErrorCode.Reader });
  });
});
