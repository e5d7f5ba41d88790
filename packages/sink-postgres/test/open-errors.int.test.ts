/**
 * A target that cannot be reached when the sink opens: a typed, retriable SinkError that names the sink, never
 * the password, rather than the driver's bare error (which the pipeline reported as UNKNOWN, not retriable).
 */
import { SinkError, silentLogger } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresSink } from '../src/index.js';

describe('apply sink open', () => {
  it('reports an unreachable Postgres target as a retriable SinkError naming the sink', async () => {
    const sink = createPostgresSink({ name: 'mirror', connectionString: 'postgres://app:S3cret@127.0.0.1:1/shop' });
    const err = await sink.open?.({ pipeline: 'p', logger: silentLogger, signal: new AbortController().signal }).then(
      () => null,
      (e: unknown) => e,
    );
    await sink.close?.();
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retriable: true });
    expect((err as Error).message).toMatch(/sink mirror .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('S3cret');
  });
});
