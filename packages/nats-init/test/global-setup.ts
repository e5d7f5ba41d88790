/** A private Postgres 18 and 15 for the source, and the shared NATS server with JetStream. */
import { ensureServices, type PostgresCluster, startPostgres } from '@walstream/testkit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { version: number; url: string }[];
  }
}

let clusters: PostgresCluster[] = [];

export async function setup(project: TestProject): Promise<void> {
  await ensureServices(['nats']);
  clusters = await Promise.all([startPostgres({ version: 18 }), startPostgres({ version: 15 })]);
  project.provide(
    'postgres',
    clusters.map((c) => ({ version: c.version, url: c.connectionString })),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(clusters.map((c) => c.stop()));
}
