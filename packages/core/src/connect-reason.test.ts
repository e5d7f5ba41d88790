import { describe, expect, it } from 'vitest';
import { connectFailureReason, withConnectReason } from './connect-reason.js';

const serverError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('connectFailureReason', () => {
  it("gives the server's message for connection-phase SQLSTATEs", () => {
    expect(connectFailureReason(serverError('28P01', 'password authentication failed for user "bob"'))).toBe(
      'password authentication failed for user "bob" (SQLSTATE 28P01)',
    );
    expect(connectFailureReason(serverError('3D000', 'database "x" does not exist'))).toMatch(/3D000/);
    expect(connectFailureReason(serverError('53300', 'sorry, too many clients already'))).toMatch(/53300/);
  });

  it('gives nothing for other server errors: their message may quote a value', () => {
    expect(connectFailureReason(serverError('22P02', 'invalid input syntax for type integer: "secret"'))).toBeNull();
    expect(connectFailureReason(new Error('some message with a value "secret"'))).toBeNull();
    expect(connectFailureReason('text')).toBeNull();
    expect(connectFailureReason(null)).toBeNull();
  });

  it('names a socket error by call, code and address, and the first of an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '127.0.0.1',
      port: 1,
    });
    expect(connectFailureReason(refused)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(connectFailureReason(new AggregateError([refused]))).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(withConnectReason('cannot connect', refused)).toBe('cannot connect: connect ECONNREFUSED 127.0.0.1:1');
    expect(withConnectReason('cannot connect', new Error('x'))).toBe('cannot connect');
    const unknownHost = Object.assign(new Error('getaddrinfo ENOTFOUND db.example'), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname: 'db.example',
    });
    expect(connectFailureReason(unknownHost)).toBe('getaddrinfo ENOTFOUND db.example');
    const noReplication = serverError('42501', 'permission denied to start WAL sender');
    expect(connectFailureReason(noReplication)).toMatch(/42501/);
  });
});
