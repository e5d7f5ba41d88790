import type { SchemaChange } from '@walstream/core';
import { commitOf } from '@walstream/core/testing';
import { describe, expect, it } from 'vitest';
import {
  appliesOverAPrefilledTarget,
  evolvesTheSchema,
  itAppliesTheCommonCases,
  quotesHostileIdentifiers,
} from '../../sink-postgres/test/shared/apply-scenarios.js';
import { batch, col, ctx, ev, nextSeq, opts, schemaOf } from '../../sink-postgres/test/shared/events.js';
import { refusesAFreshSlotOverACheckpoint } from '../../sink-postgres/test/shared/slot-scenario.js';
import { type TargetDatabase, useTargetDatabase } from '../../sink-postgres/test/shared/target.js';
import { mysqlTarget as target } from './target.js';

const database = useTargetDatabase(target, 'apply');

const padCols = [col('id', 'integer', true), col('pad', 'text')];

/**
 * A sink that streams transactions over 4 KiB into the target (maxPendingBytes), opened as `pipeline`, and table
 * `table` (id, pad) created holding row -1; `rows` makes INSERTs of 200-byte rows.
 */
async function streamingSink(db: TargetDatabase, pipeline: string, table: string) {
  const sink = target.createSink(db.url, { createTables: true, maxPendingBytes: 4096 });
  await sink.open?.(ctx(pipeline));
  await sink.write(
    batch([ev(table, 0x50n, 0, 'INSERT', { id: -1, pad: '' })], { schema: [schemaOf(table, padCols)] }),
    opts,
  );
  const rows = (lsn: bigint, from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ev(table, lsn, from + i, 'INSERT', { id: from + i, pad: 'p'.repeat(200) }));
  return { sink, rows };
}

describe('MySQL apply', () => {
  itAppliesTheCommonCases(target, database);

  it('applies ADD COLUMN, DROP COLUMN and widening, or stops with a SCHEMA error when told to', () =>
    evolvesTheSchema(target, database(), {
      async afterWidening(sink) {
        const v2 = schemaOf('evolve', [col('id', 'integer', true), col('small', 'bigint'), col('extra', 'text')]);
        const renamed = schemaOf(
          'evolve',
          [col('id', 'integer', true), col('small', 'bigint'), col('extra2', 'text')],
          v2.schema,
          0x250n,
        );
        await expect(sink.write(batch([], { schema: [renamed] }), opts)).rejects.toThrow(/a rename\?/);
        expect(await database().query('SELECT extra FROM evolve ORDER BY id')).toEqual([
          { extra: null },
          { extra: 'new' },
        ]);
      },
      countMoreColumnSql:
        "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'evolve' AND COLUMN_NAME = 'more'",
    }));

  it('quotes hostile identifiers and rejects names over 64 characters', () =>
    quotesHostileIdentifiers(target, database(), {
      tooLong: /65 characters; MySQL allows 1 to 64/,
      async more(sink) {
        const emoji = await sink
          .write(
            batch([ev('t😀', 0x500n, 0, 'INSERT', { id: 1 })], {
              schema: [schemaOf('t😀', [col('id', 'integer', true)])],
            }),
            opts,
          )
          .catch((e: unknown) => e);
        expect(emoji).toMatchObject({ reason: 'IDENTIFIER' });
        expect(String((emoji as Error).message)).toMatch(/beyond U\+FFFF/);
      },
    }));
  it('refuses a start whose replication slot was created fresh while the target holds a checkpoint', () =>
    refusesAFreshSlotOverACheckpoint(target, database()));
});

describe('MySQL errors', () => {
  it('a clash on a secondary unique index fails loudly instead of overwriting another row, with no value in the message', async () => {
    const db = database();
    await db.query('CREATE TABLE uniq (id INT PRIMARY KEY, email VARCHAR(100), UNIQUE KEY (email))');
    const sink = target.createSink(db.url);
    await sink.open?.(ctx('uniq'));
    const err = await sink
      .write(
        batch([
          ev('uniq', 0x100n, 0, 'INSERT', { id: 1, email: 'secret-value@example.test' }),
          ev('uniq', 0x100n, 1, 'INSERT', { id: 2, email: 'secret-value@example.test' }),
        ]),
        opts,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain('secret-value');
    expect(String((err as Error).message)).toMatch(/ER_BAD_NULL_ERROR|ER_DUP_ENTRY/);
    expect(await db.query('SELECT id, email FROM uniq')).toEqual([]);
    await sink.close?.();
  });
});

describe('MySQL apply, snapshot chunks', () => {
  it('several commits at one LSN (snapshot chunks) each checkpoint only their own rows', async () => {
    const db = database();
    const cols = [col('id', 'integer', true), col('name', 'text')];
    const sink = target.createSink(db.url, { createTables: true });
    await sink.open?.(ctx('chunks'));
    const read = (i: number) => ev('chunks', 0x900n, i, 'READ' as never, { id: i, name: 'r' });
    // Chunk 1 (rows 0-1) commits, chunk 2 (rows 2-3) arrives in the same batch without its commit yet.
    await sink.write(
      {
        seq: nextSeq(),
        events: [0, 1, 2, 3].map(read),
        commits: [commitOf(0x900n, 2)],
        schemaChanges: [schemaOf('chunks', cols)],
        bytes: 0,
      },
      opts,
    );
    expect(sink.position).toEqual({ lsn: 0x900n, index: 1 });
    expect(await db.query('SELECT id FROM chunks ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }]);
    await sink.write({ seq: nextSeq(), events: [], commits: [commitOf(0x900n, 4)], schemaChanges: [], bytes: 0 }, opts);
    expect(await db.query('SELECT id FROM chunks ORDER BY id')).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    expect(sink.position).toEqual({ lsn: 0x900n, index: 3 });
    await sink.close?.();
  });
});

describe('MySQL apply, mapping and large transactions', () => {
  it('maps table names, schemas to databases, and includes or excludes columns', async () => {
    const db = database();
    const other = `${db.name}_other`;
    const sink = target.createSink(db.url, {
      createTables: true,
      databases: { sales: other },
      tables: {
        'public.people': { table: 'persons', columns: { exclude: ['ssn'] } },
        'sales.orders': { columns: { include: ['id', 'total'] } },
        skipped: false,
      },
    });
    await sink.open?.(ctx('mapping'));
    const people = schemaOf('people', [col('id', 'integer', true), col('name', 'text'), col('ssn', 'text')]);
    const orders = {
      ...schemaOf('orders', [col('id', 'integer', true), col('total', 'numeric'), col('secret', 'text')]),
    };
    const ordersSchema: SchemaChange = { ...orders, schema: { ...orders.schema, schema: 'sales' } };
    try {
      await sink.write(
        batch(
          [
            ev('people', 0x100n, 0, 'INSERT', { id: 1, name: 'ann', ssn: '123' }),
            ev('orders', 0x100n, 1, 'INSERT', { id: 7, total: '9.50', secret: 'x' }, { schema: 'sales' }),
            ev('skipped', 0x100n, 2, 'INSERT', { id: 1 }),
          ],
          { schema: [people, ordersSchema] },
        ),
        opts,
      );
      expect(await db.query('SELECT * FROM persons')).toEqual([{ id: 1, name: 'ann' }]);
      expect(await db.query(`SELECT * FROM \`${other}\`.orders`)).toEqual([
        { id: 7, total: '9.500000000000000000000000000000' },
      ]);
      expect(await db.query("SHOW TABLES LIKE 'skipped'")).toEqual([]);
    } finally {
      await sink.close?.();
      await db.query(`DROP DATABASE IF EXISTS \`${other}\``);
    }
  });

  it('a transaction larger than maxPendingBytes streams into a target transaction that commits only with it', async () => {
    const db = database();
    const { sink, rows } = await streamingSink(db, 'big', 'big');
    await sink.write(batch(rows(0x100n, 0, 40), { commit: false }), opts);
    await sink.write(batch(rows(0x100n, 40, 40), { commit: false }), opts);
    // Applied into an open MySQL transaction: another session sees the rows only when reading uncommitted data.
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '1' }]);
    await db.query('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '81' }]);
    await db.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await sink.write(batch(rows(0x100n, 80, 5)), opts);
    expect(await db.query('SELECT COUNT(*) AS n FROM big')).toEqual([{ n: '86' }]);
    expect(sink.position).toEqual({ lsn: 0x100n, index: 84 });
    await sink.close?.();
  });

  it('a large transaction whose target connection is lost half-way stops with a TRANSACTION error and leaves nothing', async () => {
    const db = database();
    const { sink, rows } = await streamingSink(db, 'big-lost', 'big2');
    await sink.write(batch(rows(0x100n, 0, 40), { commit: false }), opts);
    await db.killSessions();
    const err = await sink.write(batch(rows(0x100n, 40, 5)), opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'TRANSACTION', retriable: false });
    expect(await db.query('SELECT COUNT(*) AS n FROM big2')).toEqual([{ n: '1' }]);
    await sink.close?.();
  });
});

describe('MySQL apply, DDL never inside a target transaction', () => {
  it('a table created for a transaction is created before it begins (MySQL DDL would commit it half-way)', async () => {
    const db = database();
    const sink = target.createSink(db.url, { createTables: true });
    await sink.open?.(ctx('ddl'));
    const a = schemaOf('ddl_a', [col('id', 'integer', true)]);
    await sink.write(batch([ev('ddl_a', 0x100n, 0, 'INSERT', { id: 1 })], { schema: [a] }), opts);
    const b = schemaOf('ddl_b', [col('id', 'integer', true), col('v', 'character varying', false, 14)]);
    // One source transaction: a row for ddl_a, then a row for the new table ddl_b that MySQL refuses (too long).
    const err = await sink
      .write(
        batch(
          [ev('ddl_a', 0x200n, 0, 'INSERT', { id: 2 }), ev('ddl_b', 0x200n, 1, 'INSERT', { id: 1, v: 'x'.repeat(20) })],
          { schema: [b] },
        ),
        opts,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await db.query('SELECT id FROM ddl_a ORDER BY id')).toEqual([{ id: 1 }]);
    await sink.close?.();
  });
});

describe('MySQL apply, schema items while a large transaction is open', () => {
  it('passes schema items that need no DDL and refuses ones that would (MySQL DDL commits implicitly)', async () => {
    const db = database();
    const { sink, rows } = await streamingSink(db, 'big-ddl', 'big3');
    await sink.write(batch(rows(0x100n, 0, 40), { commit: false }), opts);
    // The same shape again (a reconnecting reader repeats Relation messages): no DDL, the transaction goes on.
    await sink.write(batch(rows(0x100n, 40, 2), { schema: [schemaOf('big3', padCols, null, 0x100n)] }), opts);
    expect(await db.query('SELECT COUNT(*) AS n FROM big3')).toEqual([{ n: '43' }]);
    await sink.write(
      batch(
        rows(0x200n, 0, 40).map((e) => ({ ...e, after: { ...e.after, id: 1000 + Number(e.after?.id) } })),
        { commit: false },
      ),
      opts,
    );
    const added = schemaOf('big3', [...padCols, col('more', 'text')], schemaOf('big3', padCols).schema, 0x200n);
    const err = await sink.write(batch([], { commit: false, schema: [added] }), opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'TRANSACTION', retriable: false });
    expect(await db.query('SELECT COUNT(*) AS n FROM big3')).toEqual([{ n: '43' }]);
    await sink.close?.();
  });
});

describe('MySQL apply, a target filled beforehand', () => {
  it('an inserted key the target already holds is updated, each row written once', () =>
    appliesOverAPrefilledTarget(target, database(), async (db) => {
      await db.query('CREATE TABLE prefilled (id INT PRIMARY KEY, name VARCHAR(20))');
      await db.query('CREATE TABLE prefilled_log (id INT, op VARCHAR(10))');
      await db.query(
        "CREATE TRIGGER prefilled_ins AFTER INSERT ON prefilled FOR EACH ROW INSERT INTO prefilled_log VALUES (NEW.id, 'INSERT')",
      );
      await db.query(
        "CREATE TRIGGER prefilled_upd AFTER UPDATE ON prefilled FOR EACH ROW INSERT INTO prefilled_log VALUES (NEW.id, 'UPDATE')",
      );
      await db.query("INSERT INTO prefilled VALUES (2, 'there before')");
      await db.query('DELETE FROM prefilled_log');
    }));
});
