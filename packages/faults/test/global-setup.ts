/** One shared Postgres 18 for the scenarios that do not crash the server (those start their own). */
import { type PostgresCluster, startPostgres } from '@walstream/testkit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    faultsPostgres: { url: string; dataDir: string };
  }
}

let cluster: PostgresCluster | null = null;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPostgres({ version: 18, settings: { wal_sender_timeout: '20s' } });
  project.provide('faultsPostgres', { url: cluster.connectionString, dataDir: cluster.dataDir });
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
