import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { resolveReaderOptions } from './options.js';

const base = { connectionString: 'postgres://localhost/db', slot: 's', publication: 'p' };

describe('reader options: reconnect.maxAttempts', () => {
  it('takes Infinity, as its documentation says (retry forever), and a positive whole number', () => {
    expect(resolveReaderOptions({ ...base, reconnect: { maxAttempts: Infinity } }).reconnect.maxAttempts).toBe(
      Infinity,
    );
    expect(resolveReaderOptions({ ...base, reconnect: { maxAttempts: 5 } }).reconnect.maxAttempts).toBe(5);
    expect(resolveReaderOptions(base).reconnect.maxAttempts).toBe(Infinity);
  });

  it.each([0, -1, 2.5, Number.NaN, -Infinity, '3'])('refuses %s with a typed error naming the field', (bad) => {
    const run = () => resolveReaderOptions({ ...base, reconnect: { maxAttempts: bad as number } });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/reconnect\.maxAttempts/);
  });
});
