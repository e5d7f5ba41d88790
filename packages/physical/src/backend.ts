/**
 * The backend message parser of a replication connection, used instead of pg-protocol's once the session is
 * established. Replication streams are almost all large CopyData messages; pg-protocol reassembles every
 * message in one growing buffer that it reuses, so each payload had to be copied again by its receiver (and
 * the WAL archive concatenated it a third time). Here every CopyData payload is copied once, into a slab
 * of a few MiB shared by consecutive messages, and the receiver owns its view: nothing is reused. One copy
 * into slabs (rather than views of the socket's 64 KiB reads) means few, large allocations that the archive
 * writes with few iovecs, and socket buffers that die young: the external-memory pressure that made V8 run
 * a full GC every few hundred ms drops with it.
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
/** Slab size; a payload larger than a slab gets a buffer of its own. */
const SLAB = 4 << 20;

export class BackendParser {
  /** A message whose body spans socket reads: its buffer and how much of it is filled. */
  private partial: { code: number; body: Buffer; filled: number } | null = null;
  /** Fewer than 5 header bytes left at the end of a read. */
  private headerTail: Buffer | null = null;
  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;
  private scratch: Buffer = Buffer.alloc(0);
  /**
   * Lend CopyData payloads instead of giving them: views valid only during the callback (no copy for a
   * payload inside one read, a reused buffer for one that spans reads). For receivers that consume at once
   * (the base backup's tar extractor writes synchronously).
   */
  borrow = false;

  constructor(private readonly emit: (msg: BackendMessage) => void) {}

  feed(input: Buffer): void {
    let chunk = input;
    if (this.headerTail) {
      chunk = Buffer.concat([this.headerTail, chunk]);
      this.headerTail = null;
    }
    let off = 0;
    const p = this.partial;
    if (p) {
      const n = Math.min(p.body.length - p.filled, chunk.length);
      chunk.copy(p.body, p.filled, 0, n);
      p.filled += n;
      off = n;
      if (p.filled < p.body.length) return;
      this.partial = null;
      this.emit(decode(p.code, p.body));
    }
    while (off < chunk.length) {
      if (chunk.length - off < HEADER) {
        this.headerTail = Buffer.from(chunk.subarray(off));
        return;
      }
      const code = chunk[off] as number;
      const len = chunk.readUInt32BE(off + 1) - 4;
      const start = off + HEADER;
      const copyData = code === 0x64;
      if (start + len <= chunk.length) {
        off = start + len;
        let body = chunk.subarray(start, off);
        if (copyData && !this.borrow) {
          const own = this.take(len);
          body.copy(own);
          body = own;
        }
        this.emit(decode(code, body));
        continue;
      }
      const body = copyData ? this.take(len) : Buffer.allocUnsafe(len);
      const have = chunk.length - start;
      chunk.copy(body, 0, start);
      this.partial = { code, body, filled: have };
      return;
    }
  }

  /** `len` bytes of the current slab (a new one when it is full). */
  private take(len: number): Buffer {
    if (this.borrow) {
      if (this.scratch.length < len) this.scratch = Buffer.allocUnsafeSlow(Math.max(len, 1 << 20));
      return this.scratch.subarray(0, len);
    }
    if (len > SLAB / 4) return Buffer.allocUnsafeSlow(len);
    if (this.slabUsed + len > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB);
      this.slabUsed = 0;
    }
    const b = this.slab.subarray(this.slabUsed, this.slabUsed + len);
    this.slabUsed += len;
    return b;
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
