/**
 * walstream's shared test kit. Tests and benchmarks start what they need here and stop it afterwards.
 *
 * ```ts
 * const pg = await startPostgres({ version: 18 });  // wal_level=logical, private port, trust auth
 * // ... pg.connectionString ...
 * await pg.stop();
 * ```
 */

export type { PostgresCluster, PostgresVersion, StartPostgresOptions } from './postgres.js';
export { binDirFor, embeddedBinDir, freePort, startPostgres } from './postgres.js';
