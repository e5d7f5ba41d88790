/**
 * @walstream/physical: physical replication for walstream. A reader that streams raw WAL from a physical slot,
 * a sink that archives it as Postgres segment files, base backups over the replication protocol, and
 * point-in-time restores (or streaming standbys) from a backup plus the archive.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPhysicalReader, createWalArchiveSink, restore, takeBaseBackup } from '@walstream/physical';
 *
 * const archiver = createPipeline({
 *   name: 'wal',
 *   reader: createPhysicalReader({ connectionString, slot: 'wal_archive' }),
 *   sinks: [createWalArchiveSink({ dir: '/backups/wal' })],
 * });
 * await archiver.start();
 * const backup = await takeBaseBackup({ connectionString, dir: '/backups/base-1' }); // { startLsn, endLsn, timeline }
 * const db = await restore({
 *   backup: '/backups/base-1', archive: '/backups/wal', targetDir: '/restore/pg',
 *   target: { time: '2026-11-23T15:46:00Z' }, start: { port: 5499 },
 * }); // { lsn, time, connectionString, stop() }
 * ```
 */

// First: loads pg without its Cloudflare probe (see pg-preload.ts).
import './pg-preload.js';

export type { WalArchiveSink, WalArchiveSinkOptions } from './archive.js';
export { createWalArchiveSink } from './archive.js';
export type { BaseBackupOptions, BaseBackupProgress, BaseBackupResult } from './backup.js';
export { takeBaseBackup } from './backup.js';
export {
  BaseBackupError,
  PhysicalConnectionError,
  PhysicalServerError,
  RestoreError,
  WalArchiveError,
  WalGapError,
} from './errors.js';
export type { PhysicalReader, PhysicalReaderOptions } from './reader.js';
export { createPhysicalReader } from './reader.js';
export type {
  RestoredCluster,
  RestoreOptions,
  RestoreStandbyOptions,
  RestoreStartOptions,
  RestoreTarget,
} from './restore.js';
export { restore, restoreCommand } from './restore.js';
export type { BackupVerification } from './verify.js';
export { verifyBackup } from './verify.js';
export type { WalChunk } from './wal.js';
export { historyName, isWalChunk, parseSegmentName, segmentName } from './wal.js';
