import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { verifyAgainst } from './run.js';

describe('verifyAgainst', () => {
  it('refuses a bad tables entry or chunkSize before it connects anywhere', async () => {
    // Port 1 refuses: a connection attempt would fail with ECONNREFUSED instead of the ConfigError.
    const source = 'postgres://u@127.0.0.1:1/db';
    const never = async () => {
      throw new Error('the target must not be opened');
    };
    for (const tables of [['a', ''], [{ source: 42 }], [null]] as unknown[][]) {
      await expect(verifyAgainst({ source, target: 'x', tables: tables as never }, never)).rejects.toBeInstanceOf(
        ConfigError,
      );
    }
    await expect(verifyAgainst({ source, target: 'x', tables: ['a'], chunkSize: 0 }, never)).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});
