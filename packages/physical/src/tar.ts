/**
 * A streaming extractor for the tar archives BASE_BACKUP sends (ustar headers as Postgres' pgtar.c writes
 * them). Writes are synchronous: the socket waits while the kernel takes the bytes, which paces the server.
 */
import { closeSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { BaseBackupError } from './errors.js';

const BLOCK = 512;

export class TarExtractor {
  /** Regular files written, relative to the root. */
  readonly files: string[] = [];
  readonly dirs: string[] = [];
  bytes = 0;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private fd: number | null = null;
  private longName: string | null = null;
  private collect: Buffer[] | null = null;

  constructor(private readonly root: string) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - off);
        if (this.fd !== null) {
          let w = 0;
          while (w < n) w += writeSync(this.fd, chunk, off + w, n - w);
        } else if (this.collect) {
          this.collect.push(Buffer.from(chunk.subarray(off, off + n)));
        }
        this.bytes += n;
        this.remaining -= n;
        off += n;
        if (this.remaining === 0) this.endEntry();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - off);
        this.padding -= n;
        off += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
      chunk.copy(this.header, this.headerFill, off, off + n);
      this.headerFill += n;
      off += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.startEntry();
      }
    }
  }

  /** Throws when the archive ended inside an entry. */
  finish(): void {
    if (this.remaining > 0 || this.padding > 0 || this.headerFill > 0)
      throw new BaseBackupError('the base backup tar stream was cut short');
    this.closeFile();
  }

  /** Closes a file left open by an interrupted stream. */
  abort(): void {
    this.closeFile();
  }

  private startEntry(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const size = readNumber(h.subarray(124, 136));
    const type = String.fromCharCode(h[156] as number);
    let name = cstring(h.subarray(0, 100));
    if (h.subarray(257, 262).toString('latin1') === 'ustar') {
      const prefix = cstring(h.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.longName !== null) {
      name = this.longName;
      this.longName = null;
    }
    const mode = readNumber(h.subarray(100, 108)) & 0o7777;
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'L') {
      this.collect = [];
    } else if (type === 'x' || type === 'g') {
      // pax headers: Postgres writes none; their data is skipped
    } else {
      const path = this.safePath(name);
      if (type === '5') {
        mkdirSync(path, { recursive: true, mode: mode || 0o700 });
        this.dirs.push(name);
      } else if (type === '2') {
        symlinkSync(cstring(h.subarray(157, 257)), path);
      } else if (type === '0' || type === '\0') {
        this.fd = openSync(path, 'w', mode || 0o600);
        this.files.push(name);
      } else {
        // hard links, devices: not in a Postgres data directory
      }
    }
    if (this.remaining === 0) this.endEntry();
  }

  private endEntry(): void {
    if (this.collect) {
      this.longName = cstring(Buffer.concat(this.collect));
      this.collect = null;
    }
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private safePath(name: string): string {
    const clean = normalize(name.replace(/\/+$/, ''));
    if (clean === '.' || clean === '') return this.root;
    if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
      throw new BaseBackupError(`the base backup contains an unsafe path ${JSON.stringify(name.slice(0, 120))}`);
    }
    return join(this.root, clean);
  }
}

function cstring(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}

/** Octal text, or base-256 (high bit of the first byte set) for sizes past 8 GB, as pgtar.c writes them. */
function readNumber(b: Buffer): number {
  if (((b[0] as number) & 0x80) !== 0) {
    let v = 0n;
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i] as number);
    return Number(v);
  }
  const t = cstring(b).trim();
  return t === '' ? 0 : Number.parseInt(t, 8);
}
