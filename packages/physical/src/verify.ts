/**
 * verifyBackup: checks a base backup directory against its backup_manifest as pg_verifybackup does for the data
 * files (the manifest's own SHA-256, every listed file present with its size and checksum), without needing the
 * server's tools: embedded or containerised servers often ship no pg_verifybackup of the right major version.
 * The WAL range is reported, not parsed (pg_verifybackup's pg_waldump pass is not repeated here).
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseBackupError } from './errors.js';

export interface BackupVerification {
  /** Files listed in the manifest (all checked). */
  readonly files: number;
  /** Sum of their sizes. */
  readonly bytes: number;
  /** Checksum algorithm of the file entries (`NONE` when sizes only). */
  readonly checksumAlgorithm: string;
  /** WAL the backup needs, from the manifest's WAL-Ranges. */
  readonly walRanges: readonly { timeline: number; startLsn: string; endLsn: string }[];
  /** Manifest format version. */
  readonly manifestVersion: number;
}

interface ManifestFile {
  Path?: string;
  'Encoded-Path'?: string;
  Size: number;
  'Checksum-Algorithm'?: string;
  Checksum?: string;
}

interface Manifest {
  'PostgreSQL-Backup-Manifest-Version': number;
  Files: ManifestFile[];
  'WAL-Ranges'?: { Timeline: number; 'Start-LSN': string; 'End-LSN': string }[];
  'Manifest-Checksum': string;
}

const HASHES: Record<string, string> = { SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

/** Verifies `dir` against `dir/backup_manifest`; throws a BaseBackupError naming the first bad file. */
export async function verifyBackup(dir: string): Promise<BackupVerification> {
  let text: string;
  try {
    text = await readFile(join(dir, 'backup_manifest'), 'utf8');
  } catch (err) {
    throw new BaseBackupError(`${dir} has no readable backup_manifest`, err);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new BaseBackupError(`${dir}/backup_manifest is not valid JSON`, err);
  }
  // The checksum covers the manifest text up to (not including) its own line.
  const cut = text.lastIndexOf('"Manifest-Checksum"');
  const sha = createHash('sha256').update(text.slice(0, cut)).digest('hex');
  if (cut < 0 || sha !== m['Manifest-Checksum'])
    throw new BaseBackupError('backup_manifest: its checksum does not match');
  let bytes = 0;
  let algorithm = 'NONE';
  for (const f of m.Files) {
    const path = f.Path ?? Buffer.from(f['Encoded-Path'] ?? '', 'hex').toString('utf8');
    const alg = f['Checksum-Algorithm'] ?? 'NONE';
    if (alg !== 'NONE') algorithm = alg;
    const got = await digest(join(dir, path), alg).catch((err: unknown) => {
      throw new BaseBackupError(`${path}: listed in the manifest but not readable`, err);
    });
    if (got.size !== f.Size) throw new BaseBackupError(`${path}: size ${got.size}, manifest says ${f.Size}`);
    if (alg !== 'NONE' && got.checksum !== f.Checksum?.toLowerCase()) {
      throw new BaseBackupError(`${path}: ${alg} checksum does not match the manifest`);
    }
    bytes += f.Size;
  }
  return {
    files: m.Files.length,
    bytes,
    checksumAlgorithm: algorithm,
    walRanges: (m['WAL-Ranges'] ?? []).map((r) => ({
      timeline: r.Timeline,
      startLsn: r['Start-LSN'],
      endLsn: r['End-LSN'],
    })),
    manifestVersion: m['PostgreSQL-Backup-Manifest-Version'],
  };
}

/** Size and checksum of a file, read in 1 MiB pieces so large relation segments never sit in memory whole. */
async function digest(path: string, alg: string): Promise<{ size: number; checksum: string | null }> {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const hash = HASHES[alg] ? createHash(HASHES[alg] as string) : null;
  let crc = 0xffffffff;
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      if (hash) hash.update(piece);
      else if (alg === 'CRC32C') crc = crc32cUpdate(crc, piece);
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (hash) return { size, checksum: hash.digest('hex') };
  if (alg !== 'CRC32C') return { size, checksum: null };
  // The manifest holds the CRC's bytes in memory (little-endian) order.
  const out = Buffer.alloc(4);
  out.writeUInt32LE((crc ^ 0xffffffff) >>> 0);
  return { size, checksum: out.toString('hex') };
}

/** Slicing-by-8 tables for CRC-32C (Castagnoli, reflected 0x82F63B78). */
const T = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  return t;
})();

export function crc32cUpdate(crc: number, b: Uint8Array): number {
  let c = crc | 0;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const lo =
      c ^
      ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24));
    c =
      (T[7 * 256 + (lo & 0xff)] as number) ^
      (T[6 * 256 + ((lo >>> 8) & 0xff)] as number) ^
      (T[5 * 256 + ((lo >>> 16) & 0xff)] as number) ^
      (T[4 * 256 + (lo >>> 24)] as number) ^
      (T[3 * 256 + (b[i + 4] as number)] as number) ^
      (T[2 * 256 + (b[i + 5] as number)] as number) ^
      (T[256 + (b[i + 6] as number)] as number) ^
      (T[b[i + 7] as number] as number);
  }
  for (; i < n; i++) c = (T[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c >>> 0;
}
