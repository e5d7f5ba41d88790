/**
 * A recording sink for fault tests: it keeps every delivery, duplicates included (it never deduplicates), one JSON
 * line per event appended to a file before write() returns, so what it holds survives a SIGKILL of its process.
 * Each line names the sink and the run (one run = one process life), which the oracles (oracles.ts) need.
 *
 * ```ts
 * const sink = createRecordingSink({ name: 'rec', path: '/tmp/rec.jsonl', run: 3 });
 * // ... createPipeline({ reader, sinks: [sink] }) in a child process; later, in the test:
 * const deliveries = await readDeliveries('/tmp/rec.jsonl');
 * ```
 */
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** One event as the recording sink saw it. LSNs are decimal strings (JSON has no bigint). */
export interface Delivery {
  sink: string;
  run: number;
  /** The event id `X/Y:index`. */
  id: string;
  lsn: string;
  index: number;
  xid: string;
  op: string;
  table: string;
  /** Stable JSON of the key columns. */
  key: string;
  /** The new row (null for DELETE), values as JSON-safe text. */
  after: Record<string, unknown> | null;
}

/** The part of a walstream ChangeEvent a Delivery records (kept structural so the test kit needs no core). */
export interface EventLike {
  readonly id: string;
  readonly position: { readonly lsn: bigint; readonly index: number };
  readonly transactionId: string;
  readonly operation: string;
  readonly table: string;
  readonly key: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
}

/** The part of a walstream Batch the recording sink reads. */
interface BatchLike {
  readonly events: readonly EventLike[];
}

export interface RecordingSinkOptions {
  name: string;
  /** JSONL file the deliveries are appended to. */
  path: string;
  /** Which process life this is (restarts count up). */
  run: number;
  /** Wait this long inside every write (a slow sink), before recording. @default 0 */
  delayMs?: number;
}

export interface RecordingSink {
  readonly name: string;
  write(batch: BatchLike, opts?: { signal?: AbortSignal }): Promise<void>;
}

const plain = (v: unknown): unknown => {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v !== null && typeof v === 'object' && 'text' in v) return String((v as { text: string }).text);
  return v;
};
const plainRow = (r: Record<string, unknown> | null) =>
  r === null ? null : Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]));
const keyText = (r: Record<string, unknown> | null) =>
  r === null
    ? ''
    : JSON.stringify(
        Object.keys(r)
          .sort()
          .map((k) => [k, plain(r[k])]),
      );

/**
 * One event as a Delivery of `sink` in `run`: what the recording sink writes, and how a test turns what a real
 * destination holds (a stream's or a queue's messages, decoded) into input for the oracles.
 */
export function toDelivery(e: EventLike, sink: string, run: number): Delivery {
  return {
    sink,
    run,
    id: e.id,
    lsn: e.position.lsn.toString(),
    index: e.position.index,
    xid: e.transactionId,
    op: e.operation,
    table: e.table,
    key: keyText(e.key),
    after: plainRow(e.after),
  };
}

export function createRecordingSink(options: RecordingSinkOptions): RecordingSink {
  return {
    name: options.name,
    async write(batch) {
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      if (batch.events.length === 0) return;
      let text = '';
      for (const e of batch.events) text += `${JSON.stringify(toDelivery(e, options.name, options.run))}\n`;
      // Synchronous: the bytes are in the kernel before write() returns, so a SIGKILL right after keeps them.
      appendFileSync(options.path, text);
    },
  };
}

/**
 * Every delivery in a recording file, in the order it was written; [] when the file does not exist. A last line
 * without its newline is an append still under way (the file is read while a child writes): it is left out.
 */
export async function readDeliveries(path: string): Promise<Delivery[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  return whole
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Delivery);
}
