import { describe, expect, it } from 'vitest';
import { parseTableName } from './sql.js';

describe('parseTableName', () => {
  it('folds unquoted names to lower case, as Postgres does', () => {
    expect(parseTableName('Orders')).toEqual({ schema: 'public', table: 'orders' });
    expect(parseTableName('Sales.Orders')).toEqual({ schema: 'sales', table: 'orders' });
    // Like Postgres on UTF-8, only ASCII letters fold.
    expect(parseTableName('ÉTÉ')).toEqual({ schema: 'public', table: 'ÉtÉ' });
  });

  it('keeps the case of quoted names', () => {
    expect(parseTableName('"Orders"')).toEqual({ schema: 'public', table: 'Orders' });
    expect(parseTableName('"Sales"."Orders"')).toEqual({ schema: 'Sales', table: 'Orders' });
    expect(parseTableName('Sales."Orders"')).toEqual({ schema: 'sales', table: 'Orders' });
    expect(parseTableName('"my.Schema".t')).toEqual({ schema: 'my.Schema', table: 't' });
  });
});
