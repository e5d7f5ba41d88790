/**
 * The apply sinks' shared test scenarios run against a target through this adapter: what differs between a
 * Postgres and a MySQL target (connecting, SQL dialect, killing sessions) lives in each package's test/target.ts;
 * the scenarios themselves exist once, here. Each package's own test files name the tests and call them.
 */
import { afterAll, beforeAll } from 'vitest';
import type { ApplySink } from '../../src/index.js';

/** A private database on the target server for one test file. */
export interface TargetDatabase {
  /** The database's name on the target server. */
  readonly name: string;
  /** Connection string the sink is given. */
  readonly url: string;
  /** Runs one statement; `?` marks each parameter. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Ends every session on this database but the test's own; resolves how many were ended. */
  killSessions(): Promise<number>;
  drop(): Promise<void>;
}

/** Results of the package's `verifyTables`, the part the scenarios compare. */
export interface VerifyOutcome {
  equal: boolean;
  tables: { table: string; missing: string[][]; extra: string[][]; different: string[][] }[];
}

export interface SqlTarget {
  /** The name the sink writes into the checkpoint table (`postgres`, `mysql`). */
  readonly sinkName: string;
  createDatabase(prefix: string): Promise<TargetDatabase>;
  /** The package's apply sink; `options` are the options both sinks share. */
  createSink(url: string, options?: Record<string, unknown>): ApplySink;
  verifyTables(options: { source: string; target: string; tables: string[] }): Promise<VerifyOutcome>;
  /** An identifier quoted for the target's SQL. */
  quote(name: string): string;
  /** The package's ApplyError class. */
  readonly ApplyError: abstract new (
    ...args: never[]
  ) => Error;
}

/** A fresh target database for the calling test file (created before its tests, dropped after). */
export function useTargetDatabase(target: SqlTarget, prefix: string): () => TargetDatabase {
  let db: TargetDatabase | undefined;
  beforeAll(async () => {
    db = await target.createDatabase(prefix);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (db === undefined) throw new Error('the target database is created in beforeAll');
    return db;
  };
}
