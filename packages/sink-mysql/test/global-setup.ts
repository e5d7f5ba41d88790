/** One private Postgres 18 cluster (wal_level=logical) for this package's integration tests: source and target. */
import { type PostgresCluster, startPostgres } from '@walstream/testkit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let cluster: PostgresCluster | null = null;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPostgres({ version: 18 });
  project.provide('pgUrl', cluster.connectionString);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
