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

  it('refuses a table mapping with a misspelt or mistyped option, naming it', () => {
    const url = 'postgres://h/db';
    const cases: [unknown, string][] = [
      [{ orders: { tabel: 'x' } }, 'tables.orders.tabel'],
      [{ orders: { columns: { exlude: ['a'] } } }, 'tables.orders.columns.exlude'],
      [{ orders: { columns: { include: 'a' } } }, 'tables.orders.columns.include'],
      [{ orders: { schema: 1 } }, 'tables.orders.schema'],
      [{ orders: true }, 'tables.orders'],
    ];
    for (const [tables, field] of cases) {
      let err: unknown;
      try {
        createPostgresSink({ connectionString: url, tables: tables as never });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
    }
    expect(() =>
      createPostgresSink({
        connectionString: url,
        tables: { orders: { table: 'o', schema: 's', columns: { exclude: ['note'] } }, audit: false },
      }),
    ).not.toThrow();
  });
});
