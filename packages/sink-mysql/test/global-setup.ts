/** One private Postgres 18 cluster (wal_level=logical) for this package's integration tests: source and target. */
import { ensureServices, type PostgresCluster, startPostgres } from '@walstream/testkit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let cluster: PostgresCluster | null = null;

export async function setup(project: TestProject): Promise<void> {
  // The machine's MariaDB, started if it was down (a clear error naming it if it stays unreachable).
  if (!process.env.WALSTREAM_MYSQL_URL) await ensureServices(['mariadb']);
  cluster = await startPostgres({ version: 18 });
  project.provide('pgUrl', cluster.connectionString);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
