/** The Postgres target for the shared apply scenarios: a fresh database on the package's private cluster. */
import { ApplyError, createPostgresSink, verifyTables } from '../src/index.js';
import { freshDatabase, sql } from './helpers.js';
import type { SqlTarget, TargetDatabase } from './shared/target.js';

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export const postgresTarget: SqlTarget = {
  sinkName: 'postgres',
  ApplyError,
  quote,
  createSink: (url, options = {}) => createPostgresSink({ connectionString: url, ...options }),
  verifyTables,
  async createDatabase(prefix): Promise<TargetDatabase> {
    const url = await freshDatabase(prefix);
    const name = url.split('/').pop() as string;
    return {
      name,
      url,
      query<T = Record<string, unknown>>(text: string, params?: unknown[]) {
        let n = 0;
        return sql(
          url,
          text.replace(/\?/g, () => `$${++n}`),
          params,
        ) as Promise<T[]>;
      },
      async killSessions() {
        const r = await sql<{ ok: boolean }>(
          url,
          'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        return r.filter((x) => x.ok).length;
      },
      // The cluster is private to this package's run and stopped with it.
      async drop() {},
    };
  },
};
