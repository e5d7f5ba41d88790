/**
 * Message headers written in NATS' wire form (`NATS/1.0\r\nKey: value\r\n...\r\n`), straight into a shared slab.
 * nats.js' `headers()` + `set()` + `encode()` left about 3 KB of garbage per message (a Map, key arrays and
 * filters per set, canonicalised names, the header string, then its bytes in their own ArrayBuffer): a third of
 * event mode's allocation, and what kept its heap (and peak RSS) growing between full collections.
 *
 * nats.js' `publish` reads nothing from a headers object but `encode()` (nats-core 3.x, protocol.publish); the
 * sink's integration tests read every header back through nats.js from a real server.
 */
import { SinkError } from '@walstream/core';

/** The part every message of a sink shares: the version line and fixed headers, encoded once. */
export class HeaderPrefix {
  readonly bytes: Buffer;

  constructor(entries: ReadonlyArray<readonly [string, string]>) {
    let text = 'NATS/1.0\r\n';
    for (const [k, v] of entries) text += `${checkName(k)}: ${checkValue(k, v)}\r\n`;
    this.bytes = Buffer.from(text, 'utf8');
  }
}

/** What nats.js' publish takes as `headers`: it only calls encode(). */
export class WireHeaders {
  constructor(private readonly block: Uint8Array) {}

  encode(): Uint8Array {
    return this.block;
  }
}

const SLAB_BYTES = 64 * 1024;
const MSG_ID = Buffer.from('Nats-Msg-Id: ');
const END = Buffer.from('\r\n\r\n');
const CR_LF = /[\r\n]/;

/**
 * Cuts each message's header block from a slab. A block is read by nats.js when it queues the message (copied
 * into its outbound buffer by the next flush), so a slab dies young with the messages written from it.
 */
export class HeaderSlab {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  /** `prefix` + `Nats-Msg-Id: <msgId>` + the blank line. Throws a SinkError for an id with CR or LF. */
  block(prefix: HeaderPrefix, msgId: string): WireHeaders {
    if (CR_LF.test(msgId)) {
      throw new SinkError('a Nats-Msg-Id cannot contain CR or LF (event ids come from the reader)', {
        retriable: false,
      });
    }
    const max = prefix.bytes.length + MSG_ID.length + 3 * msgId.length + END.length;
    if (this.used + max > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, max));
      this.used = 0;
    }
    const s = this.slab;
    const start = this.used;
    let at = start + prefix.bytes.copy(s, start);
    at += MSG_ID.copy(s, at);
    at += s.write(msgId, at, 'utf8');
    at += END.copy(s, at);
    this.used = at;
    return new WireHeaders(s.subarray(start, at));
  }
}

/** Header names are HTTP tokens (RFC 9110): no separators, no spaces, no colon. */
function checkName(k: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) {
    throw new SinkError(`invalid NATS header name ${JSON.stringify(k)}`, { retriable: false });
  }
  return k;
}

function checkValue(k: string, v: string): string {
  if (CR_LF.test(v)) throw new SinkError(`the ${k} header cannot contain CR or LF`, { retriable: false });
  return v.trim();
}
