/**
 * walstream's shared test kit. Tests and benchmarks start what they need here and stop it afterwards.
 *
 * ```ts
 * const pg = await startPostgres({ version: 18 });  // wal_level=logical, private port, trust auth
 * await ensureServices(['nats']);                    // the machine's NATS, started if it was down
 * const proxy = await startTcpProxy({ host: pg.host, port: pg.port }); // cut, stall, delay the network
 * await proxy.close();
 * await pg.stop();
 * ```
 */

export { output, runTsChild, waitForLine } from './children.js';
export type { ChromiumHandle } from './chromium.js';
export { CHROMIUM_PATH, ensureChromium, launchChromium } from './chromium.js';
export { runExample } from './examples.js';
export type { KafkaMock } from './kafka.js';
export { kafkaMockBinary, startKafkaMock } from './kafka.js';
export type { MainIo, MainRun } from './main.js';
export { runMain } from './main.js';
export type { NatsServer, StartNatsOptions } from './nats.js';
export { startNatsServer } from './nats.js';
export type { RunEnd } from './oracles.js';
export {
  assertConfirmedNeverAhead,
  assertDuplicatesOnlyAfterAck,
  assertEveryChangeDelivered,
  assertPerKeyOrder,
  assertTargetEqualsSource,
  formatPgLsn,
  parsePgLsn,
  slotConfirmedLsn,
} from './oracles.js';
export type { PgLoadProbe } from './pg-load.js';
export { probePgLoad } from './pg-load.js';
export type { PgMessageHandlers, PgMessageOutcome } from './pg-messages.js';
export { PGOUTPUT_TYPE_OFFSET, pgMessageTransform, pgoutputType } from './pg-messages.js';
export type { PostgresCluster, PostgresVersion, StartPostgresOptions } from './postgres.js';
export { binDirFor, embeddedBinDir, freePort, postgresScratch, startPostgres } from './postgres.js';
export type { TcpProxy, TcpProxyOptions } from './proxy.js';
export { startTcpProxy } from './proxy.js';
export type { Delivery, EventLike, RecordingSink, RecordingSinkOptions } from './recording.js';
export { createRecordingSink, readDeliveries, toDelivery } from './recording.js';
export type { Service, ServiceName } from './services.js';
export { ensureService, ensureServices, reachable, SERVICES } from './services.js';
export { sql } from './sql.js';
export type { TerminalRun } from './terminal.js';
export { runInTerminal } from './terminal.js';
export { until } from './until.js';
export type { CommittedTx, Workload, WorkloadOptions } from './workload.js';
export { createWorkload } from './workload.js';
