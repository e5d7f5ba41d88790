/**
 * The backend message parser of a replication connection, used instead of pg-protocol's once the session is
 * established. Replication streams are almost all large CopyData messages; pg-protocol reassembles every
 * message in one growing buffer that it reuses, so each payload had to be copied again by its receiver (and
 * the WAL archive concatenated it a third time). Here the socket reads straight into slabs of a few MiB
 * (`buffer()` is where the next read goes, `wrote(n)` parses what arrived): consecutive reads are contiguous,
 * so every message is handed out as a view of its slab, without a copy, and the receiver owns it (a slab is
 * never reused; it is freed when no view is left). Only the unfinished message at the end of a full slab is
 * copied into the next one. For a socket that cannot read into given memory (TLS), `feed()` copies each read in.
 */

export type BackendMessage =
  | { name: 'copyData'; chunk: Buffer }
  | { name: 'rowDescription'; fields: { name: string }[] }
  | { name: 'dataRow'; fields: (string | null)[] }
  | { name: 'commandComplete' }
  | { name: 'readyForQuery' }
  | { name: 'error'; code: string | undefined; message: string }
  | { name: 'copyOutResponse' }
  | { name: 'copyBothResponse' }
  | { name: 'copyDone' }
  | { name: 'other'; code: number };

const HEADER = 5;
/** Slab size; a message larger than a slab gets a slab of its own size. */
const SLAB = 4 << 20;
/** A read smaller than this is not worth it: start a new slab instead. */
const MIN_READ = 64 << 10;

/**
 * Slabs handed back by a receiver that is done with every view of them (the reader, once the pipeline
 * committed past a slab's WAL): reused instead of allocated, so a steady stream allocates no new memory.
 * Every new slab is external memory V8 answers with a full GC every ~25 MB of WAL.
 */
export class SlabPool {
  private readonly free: ArrayBuffer[] = [];
  /** @param max free slabs kept (4 MiB each); the rest are left to the GC */
  constructor(private readonly max = 8) {}

  take(): Buffer {
    const ab = this.free.pop();
    return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(SLAB);
  }

  give(ab: ArrayBufferLike): void {
    if (ab.byteLength === SLAB && this.free.length < this.max && ab instanceof ArrayBuffer) this.free.push(ab);
  }
}

export class BackendParser {
  /** Receives each complete message. Set before the first `wrote()`. */
  emit: (msg: BackendMessage) => void = () => {};
  private slab: Buffer = Buffer.alloc(0);

  /**
   * @param pool where new slabs come from (and, with `recycleFull`, go back to)
   * @param recycleFull a full slab goes back to the pool at once: for a receiver that is done with every message
   *   when its callback returns (the base backup writes each piece synchronously and copies what it keeps)
   */
  constructor(
    private readonly pool: SlabPool | null = null,
    private readonly recycleFull = false,
  ) {}

  /** The memory reads go into now (never to be handed back while it is). */
  get currentSlab(): ArrayBufferLike {
    return this.slab.buffer;
  }

  /** First byte not yet parsed (the start of an unfinished message). */
  private parsePos = 0;
  /** End of the bytes received. */
  private writePos = 0;

  /** Where the next read goes: the free tail of the slab, room enough for the unfinished message. */
  buffer(): Buffer {
    const have = this.writePos - this.parsePos;
    const missing = have >= HEADER ? HEADER + this.slab.readUInt32BE(this.parsePos + 1) - 4 - have : 0;
    const free = this.slab.length - this.writePos;
    if (free < MIN_READ || missing > free) {
      const size = Math.max(SLAB, have + missing + MIN_READ);
      const next = size === SLAB && this.pool ? this.pool.take() : Buffer.allocUnsafeSlow(size);
      this.slab.copy(next, 0, this.parsePos, this.writePos);
      if (this.recycleFull) this.pool?.give(this.slab.buffer);
      this.slab = next;
      this.parsePos = 0;
      this.writePos = have;
    }
    return this.slab.subarray(this.writePos);
  }

  /** `n` bytes were read into the last `buffer()`: emits every message they complete. */
  wrote(n: number): void {
    this.writePos += n;
    const b = this.slab;
    while (this.writePos - this.parsePos >= HEADER) {
      const code = b[this.parsePos] as number;
      const start = this.parsePos + HEADER;
      const end = start + b.readUInt32BE(this.parsePos + 1) - 4;
      if (end > this.writePos) return;
      this.parsePos = end;
      this.emit(decode(code, b.subarray(start, end)));
    }
  }

  /** A read that landed elsewhere: copied in, then parsed. */
  feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.buffer(), 0, off);
      off += n;
      this.wrote(n);
    }
  }
}

function decode(code: number, b: Buffer): BackendMessage {
  switch (code) {
    case 0x64 /* d */:
      return { name: 'copyData', chunk: b };
    case 0x44 /* D */:
      {
        const n = b.readUInt16BE(0);
        const fields: (string | null)[] = new Array(n);
        let off = 2;
        for (let i = 0; i < n; i++) {
          const len = b.readInt32BE(off);
          off += 4;
          if (len < 0) fields[i] = null;
          else {
            fields[i] = b.toString('utf8', off, off + len);
            off += len;
          }
        }
        return { name: 'dataRow', fields };
      }
    case 0x54 /* T */:
      {
        const n = b.readUInt16BE(0);
        const fields: { name: string }[] = [];
        let off = 2;
        for (let i = 0; i < n; i++) {
          const z = b.indexOf(0, off);
          fields.push({ name: b.toString('utf8', off, z) });
          off = z + 1 + 18; // table oid, column, type oid, size, modifier, format
        }
        return { name: 'rowDescription', fields };
      }
    case 0x43 /* C */:
      return { name: 'commandComplete' };
    case 0x5a /* Z */:
      return { name: 'readyForQuery' };
    case 0x45 /* E */:
      {
        const f = errorFields(b);
        return { name: 'error', code: f.C, message: f.M ?? 'unknown server error' };
      }
    case 0x48 /* H */:
      return { name: 'copyOutResponse' };
    case 0x57 /* W */:
      return { name: 'copyBothResponse' };
    case 0x63 /* c */:
      return { name: 'copyDone' };
    default:
      // NoticeResponse, ParameterStatus, EmptyQueryResponse...: nothing a walsender session acts on.
      return { name: 'other', code };
  }
}

function errorFields(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < b.length && b[off] !== 0) {
    const type = String.fromCharCode(b[off] as number);
    const z = b.indexOf(0, off + 1);
    out[type] = b.toString('utf8', off + 1, z < 0 ? b.length : z);
    off = z < 0 ? b.length : z + 1;
  }
  return out;
}
