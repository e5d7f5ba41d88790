/**
 * `walstream backup`: a base backup over the replication protocol into a plain directory (takeBaseBackup), a
 * progress bar while it runs on a terminal, then a check of every file against the backup's manifest.
 */
import { formatLsn } from '@walstream/core';
import { type BaseBackupOptions, takeBaseBackup, verifyBackup } from '@walstream/physical';
import type { CliIo } from '../cli.js';
import { bar, formatBytes } from '../service/tty.js';
import { intOption, type PhysicalArgs, PhysicalUsageError, required } from './physical.js';

const CHECKSUMS = ['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512'] as const;

export async function backupCommand(v: PhysicalArgs, io: CliIo): Promise<number> {
  const connectionString = required(v, 'connection', 'backup');
  const dir = required(v, 'dir', 'backup');
  const checkpoint = v.checkpoint ?? 'fast';
  if (checkpoint !== 'fast' && checkpoint !== 'spread') {
    throw new PhysicalUsageError(`--checkpoint ${checkpoint}: expected fast or spread`);
  }
  const checksums = (v['manifest-checksums'] ?? 'CRC32C').toUpperCase();
  if (!(CHECKSUMS as readonly string[]).includes(checksums)) {
    throw new PhysicalUsageError(`--manifest-checksums ${checksums}: expected one of ${CHECKSUMS.join(', ')}`);
  }
  const maxRateKb = intOption(v, 'max-rate', 32, 1048576);
  const tty = io.stderr.isTTY === true;
  let lastDraw = 0;
  const draw = (done: number, total: number | null, force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    const frac = total ? Math.min(1, done / total) : 0;
    const pct = total ? `${Math.floor(frac * 100)}%`.padStart(4) : '  ?%';
    io.stderr.write(
      `\r\x1b[2Kbackup ${bar(frac)} ${pct}  ${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}`,
    );
  };
  const options: BaseBackupOptions = {
    connectionString,
    dir,
    checkpoint,
    includeWal: v['no-wal'] !== true,
    manifestChecksums: checksums as BaseBackupOptions['manifestChecksums'] & string,
    sync: v['no-sync'] !== true,
    ...(v.label !== undefined ? { label: v.label } : {}),
    ...(maxRateKb !== undefined ? { maxRateKb } : {}),
    ...(tty ? { onProgress: (p) => draw(p.doneBytes, p.totalBytes) } : {}),
  };
  if (tty) draw(0, null, true);
  let result: Awaited<ReturnType<typeof takeBaseBackup>>;
  try {
    result = await takeBaseBackup(options);
  } finally {
    if (tty) io.stderr.write('\r\x1b[2K');
  }
  const summary = {
    dir: result.dir,
    bytes: result.bytes,
    timeline: result.timeline,
    startLsn: formatLsn(result.startLsn),
    endLsn: formatLsn(result.endLsn),
  };
  if (v['no-verify']) {
    io.stdout.write(v.json ? `${JSON.stringify({ ...summary, verified: null }, null, 2)}\n` : `${describe(summary)}\n`);
    return 0;
  }
  if (tty) io.stderr.write('verifying against backup_manifest...');
  const check = await verifyBackup(result.dir);
  if (tty) io.stderr.write('\r\x1b[2K');
  if (v.json) {
    io.stdout.write(`${JSON.stringify({ ...summary, verified: check }, null, 2)}\n`);
    return 0;
  }
  const wal = check.walRanges.map((r) => `timeline ${r.timeline} ${r.startLsn}..${r.endLsn}`).join(', ');
  io.stdout.write(
    `${describe(summary)}\n` +
      `manifest: version ${check.manifestVersion}, ${check.files} files, ${formatBytes(check.bytes)}, ` +
      `checksums ${check.checksumAlgorithm}, needs WAL ${wal || 'none listed'}\n` +
      `verified: the manifest's SHA-256 and every file's size${check.checksumAlgorithm === 'NONE' ? '' : ` and ${check.checksumAlgorithm}`} match\n`,
  );
  return 0;
}

function describe(s: { dir: string; bytes: number; timeline: number; startLsn: string; endLsn: string }): string {
  return `base backup in ${s.dir}: ${formatBytes(s.bytes)}, timeline ${s.timeline}, WAL ${s.startLsn}..${s.endLsn}`;
}
