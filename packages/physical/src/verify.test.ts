import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseBackupError } from './errors.js';
import { crc32cUpdate, verifyBackup } from './verify.js';

const crcHex = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32LE((crc32cUpdate(0xffffffff, b) ^ 0xffffffff) >>> 0);
  return out.toString('hex');
};

/** A manifest as the server writes it: the last line is the SHA-256 of everything before it. */
function manifest(files: object[]): string {
  const head = `{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n${files.map((f) => JSON.stringify(f)).join(',\n')}\n],\n"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n`;
  return `${head}"Manifest-Checksum": "${createHash('sha256').update(head).digest('hex')}"}\n`;
}

describe('verifyBackup', () => {
  let dir = '';
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('computes CRC-32C (the check value of "123456789" is e3069283)', () => {
    const c = (crc32cUpdate(0xffffffff, Buffer.from('123456789')) ^ 0xffffffff) >>> 0;
    expect(c.toString(16)).toBe('e3069283');
    // slicing-by-8 and the byte loop agree on lengths around the 8-byte step
    const long = Buffer.from(Array.from({ length: 1037 }, (_, i) => (i * 31) & 0xff));
    let byByte = 0xffffffff;
    for (const b of long) byByte = crc32cUpdate(byByte, Buffer.of(b));
    expect(crc32cUpdate(0xffffffff, long)).toBe(byByte);
  });

  it('accepts a matching directory and names the first file that does not match', async () => {
    dir = await mkdtemp(join(tmpdir(), 'walstream-verify-'));
    const a = Buffer.from('some relation bytes');
    const b = Buffer.alloc(3 << 20, 7); // spans several read pieces
    await writeFile(join(dir, 'a'), a);
    await writeFile(join(dir, 'b'), b);
    const files = [
      { Path: 'a', Size: a.length, 'Checksum-Algorithm': 'CRC32C', Checksum: crcHex(a) },
      { Path: 'b', Size: b.length, 'Checksum-Algorithm': 'CRC32C', Checksum: crcHex(b) },
    ];
    await writeFile(join(dir, 'backup_manifest'), manifest(files));
    const r = await verifyBackup(dir);
    expect(r).toMatchObject({ files: 2, bytes: a.length + b.length, checksumAlgorithm: 'CRC32C' });
    expect(r.walRanges).toEqual([{ timeline: 1, startLsn: '0/2000028', endLsn: '0/2000100' }]);

    await writeFile(join(dir, 'b'), Buffer.alloc(3 << 20, 8));
    await expect(verifyBackup(dir)).rejects.toThrow(/^b: CRC32C checksum does not match/);
    await writeFile(join(dir, 'b'), b);
    const edited = manifest(files).replace('"Size":19', '"Size":20');
    expect(edited).not.toBe(manifest(files));
    await writeFile(join(dir, 'backup_manifest'), edited);
    await expect(verifyBackup(dir)).rejects.toThrow(/backup_manifest: its checksum does not match/);
    await writeFile(join(dir, 'a'), Buffer.from('short'));
    await writeFile(join(dir, 'backup_manifest'), manifest(files));
    await expect(verifyBackup(dir)).rejects.toBeInstanceOf(BaseBackupError);
    await expect(verifyBackup(dir)).rejects.toThrow(/^a: size 5, manifest says 19/);
  });
});
