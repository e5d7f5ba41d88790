import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresSink } from '../index.js';

describe('apply sink options', () => {
  it("refuses another database's URL for the target, without quoting it", () => {
    expect(() => createPostgresSink({ connectionString: 'mysql://root:S3cret@127.0.0.1:3306/test' })).toThrow(
      ConfigError,
    );
    expect(() => createPostgresSink({ connectionString: 'mysql://root:S3cret@127.0.0.1:3306/test' })).toThrow(
      /^(?!.*S3cret).*postgres:\/\/.*mysql:\/\//,
    );
    // Postgres' own forms pass: both URL schemes and libpq's key=value string.
    for (const url of ['postgres://h/db', 'postgresql://h/db', 'host=/tmp dbname=shop']) {
      expect(() => createPostgresSink({ connectionString: url })).not.toThrow();
    }
  });
});
