/**
 * Column names that are also names of Object.prototype: a row built by assignment (`row[name] = value`) turns
 * `__proto__` into a prototype change and loses the value. Every row the reader hands out (stream and snapshot)
 * keeps them as plain own properties.
 */
import type { ChangeEvent, Row } from '@walstream/core';
import { createPipeline, RawJson } from '@walstream/core';
import { createMemorySink } from '@walstream/core/testing';
import { until } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';

const own = (row: Row | null, name: string) => {
  expect(row).not.toBeNull();
  expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  expect(Object.hasOwn(row as Row, name)).toBe(true);
  return (row as Record<string, unknown>)[name];
};

describe.each(servers())('Postgres $version column names of Object.prototype', ({ url: adminUrl }) => {
  it('keeps __proto__, constructor and hasOwnProperty columns in snapshot and stream rows', async () => {
    const url = await freshDatabase(adminUrl);
    await sql(
      url,
      `CREATE TABLE "t" ("__proto__" int PRIMARY KEY, "constructor" jsonb, "hasOwnProperty" text);
       ALTER TABLE "t" REPLICA IDENTITY FULL;
       INSERT INTO "t" VALUES (1, '{"a": 1}', 'one')`,
    );
    const reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'p',
      tables: ['t'],
      snapshot: { mode: 'initial' },
    });
    const sink = createMemorySink();
    const p = createPipeline({ name: 'proto', reader, sinks: [sink], batch: { maxWaitMs: 0 } });
    await p.start();
    await until(() => sink.events.length === 1, 'the snapshot row');
    await sql(url, `INSERT INTO "t" VALUES (2, '[2]', 'two')`);
    await sql(url, `UPDATE "t" SET "hasOwnProperty" = 'uno' WHERE "__proto__" = 1`);
    await sql(url, `DELETE FROM "t" WHERE "__proto__" = 2`);
    await until(() => sink.events.length === 4, 'the streamed changes');
    await p.stop();
    const [read, ins, upd, del] = sink.events as ChangeEvent[];
    expect(read?.operation).toBe('READ');
    expect(own(read?.after ?? null, '__proto__')).toBe(1);
    expect(own(read?.after ?? null, 'constructor')).toEqual(new RawJson('{"a": 1}'));
    expect(own(read?.after ?? null, 'hasOwnProperty')).toBe('one');
    expect(own(read?.key ?? null, '__proto__')).toBe(1);
    expect(own(ins?.after ?? null, '__proto__')).toBe(2);
    expect(own(ins?.after ?? null, 'constructor')).toEqual(new RawJson('[2]'));
    expect(own(ins?.key ?? null, '__proto__')).toBe(2);
    expect(own(upd?.before ?? null, 'hasOwnProperty')).toBe('one');
    expect(own(upd?.after ?? null, 'hasOwnProperty')).toBe('uno');
    expect(own(upd?.key ?? null, '__proto__')).toBe(1);
    expect(own(del?.before ?? null, '__proto__')).toBe(2);
    expect(own(del?.key ?? null, '__proto__')).toBe(2);
    expect(Object.keys(ins?.after ?? {})).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(Object.keys(read?.after ?? {})).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
  });
});
