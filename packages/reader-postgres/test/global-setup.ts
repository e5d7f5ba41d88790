/** Starts the two Postgres versions the reader is tested against, once per test run. */
import { type PostgresCluster, startPostgres } from '@walstream/testkit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { version: number; url: string; binDir: string; port: number }[];
  }
}

let clusters: PostgresCluster[] = [];

export async function setup(project: TestProject): Promise<void> {
  clusters = await Promise.all([startPostgres({ version: 18 }), startPostgres({ version: 15 })]);
  project.provide(
    'postgres',
    clusters.map((c) => ({ version: c.version, url: c.connectionString, binDir: c.binDir, port: c.port })),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(clusters.map((c) => c.stop()));
}
