/**
 * `walstream archive`: the WAL archiver (physical reader -> Pipeline -> WAL archive sink) in the foreground.
 * SIGINT/SIGTERM stop it gracefully: what was received is written and fsynced, the slot is told, then exit 0.
 */
import { createPipeline, ErrorCode, formatLsn, type Logger, type Pipeline } from '@walstream/core';
import { createPhysicalReader, createWalArchiveSink } from '@walstream/physical';
import type { CliIo } from '../cli.js';
import { formatBytes } from '../service/tty.js';
import { onSignals, type PhysicalArgs, PhysicalStartError, PhysicalUsageError, required } from './physical.js';

/** What `walstream archive` (and bench/physical.mjs) run the archiver with. */
export const ARCHIVE_BATCH = { maxBytes: 16 << 20, maxEvents: 10_000, maxWaitMs: 100 };

export async function archiveCommand(v: PhysicalArgs, io: CliIo): Promise<number> {
  const connectionString = required(v, 'connection', 'archive');
  const dir = required(v, 'dir', 'archive');
  const compression = v.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw new PhysicalUsageError(`--compression ${compression}: expected gzip or none`);
  }
  const slot = v.slot ?? 'wal_archive';
  const tty = io.stderr.isTTY === true;
  const logger = lineLogger(io, tty);
  const pipeline: Pipeline = createPipeline({
    name: 'wal-archive',
    // The archive sink keeps no reference to chunk bytes after a write: their memory can be reused.
    reader: createPhysicalReader({
      connectionString,
      slot,
      createSlot: v['no-create-slot'] !== true,
      reuseBuffers: true,
      maxBufferedBytes: 8 << 20,
      logger,
    }),
    sinks: [createWalArchiveSink({ dir, compression })],
    // The sink fsyncs once per batch: segment-sized batches mean about one fsync per segment under load, as
    // pg_receivewal does, and maxWaitMs still confirms a quiet server's WAL within 100 ms.
    batch: ARCHIVE_BATCH,
    // Two batches in flight (one being written, one filling): enough to keep the disk busy, RSS bounded.
    maxInFlightBytes: 32 << 20,
    logger,
  });
  try {
    await pipeline.start();
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new PhysicalStartError(`the archiver could not start: ${(err as Error).message}`, code, { cause: err });
  }
  const startedAt = Date.now();
  let first: bigint | null = null;
  let last: bigint | null = null;
  pipeline.on('committed', (e) => {
    first ??= e.position.lsn;
    last = e.position.lsn;
  });
  io.stderr.write(`archiving WAL from slot ${slot} into ${dir}; SIGINT or SIGTERM stops it\n`);
  const line = tty
    ? setInterval(() => {
        const s = (Date.now() - startedAt) / 1000;
        const bytes = first !== null && last !== null ? Number(last - first) : 0;
        io.stderr.write(
          `\r\x1b[2K${last !== null ? `on disk up to ${formatLsn(last)}` : 'waiting for WAL'}  ${formatBytes(bytes)} in ${Math.round(s)} s  ${formatBytes(bytes / Math.max(s, 1))}/s`,
        );
      }, 1000)
    : null;
  let stopping: string | null = null;
  onSignals(io, (sig) => {
    stopping = sig;
    void pipeline.stop();
  });
  try {
    await pipeline.done;
  } catch (err) {
    if (line) io.stderr.write('\r\x1b[2K');
    // The slot is taken by START_REPLICATION, in the first read: another archiver holding it is found only then,
    // and is still a start that failed (exit 3), not a failure of a running archive.
    const code = (err as { code?: string }).code;
    if (code === ErrorCode.SlotActive && first === null) {
      throw new PhysicalStartError(`the archiver could not start: ${(err as Error).message}`, code, { cause: err });
    }
    throw err;
  } finally {
    if (line) clearInterval(line);
  }
  if (line) io.stderr.write('\r\x1b[2K');
  const at = pipeline.status().committed?.lsn ?? last;
  io.stdout.write(
    `${stopping ? `stopped on ${stopping}` : 'stopped'}; the archive holds WAL up to ${at !== null ? formatLsn(at) : 'nothing new'} (confirmed to slot ${slot})\n`,
  );
  return 0;
}

/** Reader and pipeline messages as plain lines on stderr (no row values ever reach them: WAL is opaque). */
function lineLogger(io: CliIo, tty: boolean): Logger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    const extra = fields ? ` ${JSON.stringify(fields, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}` : '';
    io.stderr.write(`${tty ? '\r\x1b[2K' : ''}${level} ${msg}${extra}\n`);
  };
  return { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') };
}
