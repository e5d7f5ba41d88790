/**
 * Reads one chunk with `COPY (SELECT ...) TO STDOUT` (text format) and parses each row straight from its
 * CopyData frame (off the socket, see frame-tap.ts). A row-by-row pg result costs a message, an array and a
 * string per column plus the parser's bookkeeping; COPY costs one string per row, split on tabs. The backend sends exactly one row per CopyData
 * message (protocol docs, "COPY Operations"), so a message never needs joining with the next.
 *
 * Text format: columns separated by tab, `\N` is NULL, and COPY TO escapes backslash, tab, newline, carriage
 * return, backspace, form feed and vertical tab (`\\ \t \n \r \b \f \v`); every other character is verbatim.
 */
import type { EventEmitter } from 'node:events';
import { DecodeError } from '@walstream/core';
import type pg from 'pg';
import { FrameTap } from '../frame-tap.js';
import { utf8 } from '../utf8.js';

/**
 * Called once per row with its COPY text (without the newline; escapes and `\N` still in it, see splitCopyRow)
 * and the row's size on the wire.
 */
export type CopyRowHandler = (line: string, bytes: number) => void;

/**
 * Flow control for a consumer slower than the COPY: pause() stops reading the socket (the server waits),
 * resume() reads on. Both are no-ops before the COPY starts, after it ends, and when rows come through pg's
 * messages (frame-tap.ts could not take the socket).
 */
export class CopyFlow {
  /** Set while a COPY reads the socket itself; the tap keeps whether it is paused. */
  tap: FrameTap | null = null;

  pause(): void {
    this.tap?.pause();
  }

  resume(): void {
    this.tap?.resume();
  }
}

/** A pg "submittable": pg hands it the connection's messages while the COPY runs. */
class CopyOut {
  callback?: (err: Error | null) => void;
  private tap: FrameTap | null = null;
  private error: Error | null = null;
  private settled = false;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: Error) => void;

  constructor(
    private readonly text: string,
    private readonly onRow: CopyRowHandler,
    private readonly flow: CopyFlow | null,
    private readonly cutOnError: boolean,
  ) {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }

  submit(connection: { query(text: string): void; stream?: EventEmitter }): void {
    this.tap = FrameTap.attach(connection, this.row);
    if (this.flow !== null) this.flow.tap = this.tap;
    connection.query(this.text);
  }

  /** Rows as pg's messages, when the socket could not be read directly (see frame-tap.ts). */
  handleCopyData(msg: { chunk: Buffer }): void {
    this.row(msg.chunk, 0, msg.chunk.length);
  }

  private readonly row = (b: Buffer, start: number, end: number): void => {
    if (this.error !== null) return;
    try {
      // Every row ends with a newline (escaped inside values), dropped here.
      const stop = end > start && b[end - 1] === 0x0a ? end - 1 : end;
      this.onRow(utf8(b, start, stop), end - start);
    } catch (err) {
      this.error = err as Error;
      if (this.cutOnError) {
        // Fail now, with the socket paused: the rest of the COPY is never read (see CopyOptions.cutOnError).
        this.tap?.pause();
        this.settle(this.error);
      }
      // Otherwise keep draining the COPY (the connection stays in sync); fail once it ends.
    }
  };

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void {
    connection.sendCopyFail('walstream does not send COPY data');
  }

  handleError(err: Error): void {
    this.finish(err);
  }

  handleReadyForQuery(): void {
    this.finish(this.error);
  }

  private finish(err: Error | null): void {
    // The socket goes back to pg however the COPY ends (a connection lost mid-COPY included), reading again.
    if (this.flow !== null) this.flow.tap = null;
    this.tap?.detach();
    this.settle(err);
  }

  private settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    if (err === null) this.resolve();
    else this.reject(err);
  }
}

export interface CopyOptions {
  /** Lets the caller pause and resume reading. */
  flow?: CopyFlow | null;
  /**
   * A row that fails (its handler throws) fails the COPY at once and leaves the rest unread, the socket paused:
   * for a COPY of a whole table, where draining it first could take as long as the copy. The connection is then
   * still in the COPY and must be ended (ending a pg client with its query active destroys the socket).
   * Otherwise the COPY is read to its end and the connection stays usable. @default false
   */
  cutOnError?: boolean;
}

/** Runs `COPY (<select>) TO STDOUT` on `client`, calling `onRow` for every row as it arrives. */
export function copyOut(client: pg.Client, select: string, onRow: CopyRowHandler, o: CopyOptions = {}): Promise<void> {
  const q = new CopyOut(`COPY (${select}) TO STDOUT`, onRow, o.flow ?? null, o.cutOnError ?? false);
  (client as unknown as { query(q: CopyOut): void }).query(q);
  return q.done;
}

/**
 * One COPY text row (without its newline) into its column texts: null for `\N`, escapes undone. indexOf and
 * slice, not split('\t'): split goes through the runtime and cost twice as much per row (a million rows: 0.4 s).
 */
export function splitCopyRow(line: string, columns: number): (string | null)[] {
  const fields: (string | null)[] = new Array(columns);
  let from = 0;
  const last = columns - 1;
  for (let i = 0; i < last; i++) {
    const tab = line.indexOf('\t', from);
    if (tab === -1) throw new DecodeError(`COPY row has ${i + 1} columns, expected ${columns}`);
    fields[i] = line.slice(from, tab);
    from = tab + 1;
  }
  if (line.indexOf('\t', from) !== -1) {
    throw new DecodeError(`COPY row has ${line.split('\t').length} columns, expected ${columns}`);
  }
  fields[last] = line.slice(from);
  if (line.indexOf('\\') === -1) return fields;
  for (let i = 0; i < columns; i++) {
    const f = fields[i] as string;
    if (f.indexOf('\\') === -1) continue;
    fields[i] = f === '\\N' ? null : unescapeCopy(f);
  }
  return fields;
}

const SIMPLE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * Undoes COPY text escapes. COPY TO only writes the single-letter ones and `\\`; octal and hex escapes (which
 * COPY FROM accepts) name bytes, so only ASCII ones are taken: a byte of a multi-byte character cannot be.
 */
export function unescapeCopy(s: string): string {
  let out = '';
  let from = 0;
  let i = s.indexOf('\\');
  while (i !== -1) {
    out += s.slice(from, i);
    const c = s[i + 1];
    if (c === undefined) throw new DecodeError('COPY value ends in a lone backslash');
    let next = i + 2;
    const simple = SIMPLE[c];
    if (simple !== undefined) out += simple;
    else if (isOctal(c)) {
      while (next < i + 4 && isOctal(s[next])) next++;
      out += asciiByte(Number.parseInt(s.slice(i + 1, next), 8));
    } else if (c === 'x' && /^[0-9a-fA-F]/.test(s.slice(i + 2, i + 3))) {
      next = /^[0-9a-fA-F]{2}/.test(s.slice(i + 2, i + 4)) ? i + 4 : i + 3;
      out += asciiByte(Number.parseInt(s.slice(i + 2, next), 16));
    } else out += c; // `\\`, and any other character stands for itself
    from = next;
    i = s.indexOf('\\', from);
  }
  return out + s.slice(from);
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}

function asciiByte(b: number): string {
  if (b > 0x7f) throw new DecodeError('COPY value has a non-ASCII byte escape');
  return String.fromCharCode(b);
}
