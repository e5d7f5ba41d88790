import type { ReaderItem } from '../event.js';
import type { LogReader, ReadOptions } from '../interfaces.js';
import type { Position } from '../position.js';

export interface ArrayReaderOptions {
  /** After the last item, stay open until aborted (like a live source) instead of ending. @default false */
  live?: boolean;
}

export interface ArrayReader extends LogReader {
  /** Every position passed to ack(), in order. */
  readonly acks: Position[];
  /** How many items the consumer has pulled so far. */
  readonly pulled: number;
  readonly closed: boolean;
}

/** A LogReader over an array: the reference reader for pipeline tests and benchmarks. */
export function createArrayReader(items: readonly ReaderItem[], options: ArrayReaderOptions = {}): ArrayReader {
  const acks: Position[] = [];
  let pulled = 0;
  let closed = false;
  return {
    acks,
    get pulled() {
      return pulled;
    },
    get closed() {
      return closed;
    },
    async *read(opts: ReadOptions = {}) {
      const signal = opts.signal;
      for (let i = 0; i < items.length; i++) {
        if (signal?.aborted) return;
        pulled++;
        yield items[i] as ReaderItem;
      }
      if (options.live && signal && !signal.aborted) {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      }
    },
    async ack(position) {
      acks.push(position);
    },
    async close() {
      closed = true;
    },
  };
}
