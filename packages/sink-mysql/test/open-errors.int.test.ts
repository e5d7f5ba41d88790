/**
 * A target that cannot be reached or refuses the sink when it opens: a typed SinkError that names the sink and
 * never the password; retriable when the connection failed, not when the server refused the credentials or the
 * database (a retry would be refused the same way).
 */
import { SinkError, silentLogger } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createMySqlSink } from '../src/index.js';
import { MYSQL_ROOT } from './mysql-db.js';

async function openError(connectionString: string): Promise<unknown> {
  const sink = createMySqlSink({ name: 'mirror', connectionString });
  const err = await sink.open?.({ pipeline: 'p', logger: silentLogger, signal: new AbortController().signal }).then(
    () => null,
    (e: unknown) => e,
  );
  await sink.close?.();
  return err;
}

function withUrl(edit: (u: URL) => void): string {
  const u = new URL(MYSQL_ROOT);
  edit(u);
  return u.toString();
}

describe('apply sink open, MySQL', () => {
  it('reports an unreachable target as a retriable SinkError naming the sink', async () => {
    const err = await openError('mysql://app:S3cret@127.0.0.1:1/shop');
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retriable: true });
    expect((err as Error).message).toMatch(/sink mirror .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('S3cret');
  });

  it('reports refused credentials and an unknown database as SinkErrors that are not retried', async () => {
    const denied = await openError(
      withUrl((u) => {
        u.username = 'walstream_nobody';
        u.password = 'S3cret';
      }),
    );
    expect(denied).toBeInstanceOf(SinkError);
    expect(denied).toMatchObject({ retriable: false });
    expect((denied as Error).message).toMatch(/sink mirror .*ACCESS_DENIED/);
    expect((denied as Error).message).not.toContain('S3cret');
    const unknown = await openError(
      withUrl((u) => {
        u.pathname = '/walstream_no_such_database';
      }),
    );
    expect(unknown).toBeInstanceOf(SinkError);
    expect(unknown).toMatchObject({ retriable: false });
  });
});
