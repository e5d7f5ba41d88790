import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createMySqlSink } from './index.js';

describe('createMySqlSink options', () => {
  it('refuses bad options with a ConfigError naming the field', () => {
    const url = 'mysql://root@127.0.0.1:3306/test';
    for (const [opts, field] of [
      [{}, 'connectionString'],
      [{ connectionString: 'postgres://app:S3cret@127.0.0.1/shop' }, 'connectionString'],
      [{ connectionString: url, transactionsPerCommit: 0 }, 'transactionsPerCommit'],
      [{ connectionString: url, maxRowsPerStatement: 1.5 }, 'maxRowsPerStatement'],
      [{ connectionString: url, maxPendingBytes: -1 }, 'maxPendingBytes'],
      [{ connectionString: url, onSchemaChange: 'ignore' }, 'onSchemaChange'],
      [{ connectionString: url, unrepresentable: 'zero' }, 'unrepresentable'],
      // MySQL mappings name a database, not a schema.
      [{ connectionString: url, tables: { orders: { schema: 'shop' } } }, 'tables.orders.schema'],
    ] as const) {
      let err: unknown;
      try {
        createMySqlSink(opts as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as Error).message).not.toContain('S3cret');
    }
  });

  it('refuses a checkpoint table name MySQL cannot hold', () => {
    expect(() => createMySqlSink({ connectionString: 'mysql://x/y', checkpointTable: 'c'.repeat(65) })).toThrow(
      /MySQL allows 1 to 64/,
    );
  });
});
