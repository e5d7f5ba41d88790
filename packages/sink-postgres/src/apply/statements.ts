/** Statement and connection handling both SQL dialects share. */
import { SinkError } from '@walstream/core';

/** Statement shapes (table, columns, row count) whose text is kept; past this the cache starts over. */
const MAX_CACHED_STATEMENTS = 256;

/**
 * Multi-row statement texts (or what a dialect derives from them) by shape, built once: building a 2,000-parameter
 * text for every batch cost about a tenth of a bare INSERT's time (profiled with bench/apply.mjs).
 */
export class StatementCache<T> {
  private readonly byShape = new Map<string, T>();

  /** `shape`: the statement kind, table, row count and column names; `build` runs when it is new. */
  get(shape: readonly (string | number)[], build: () => T): T {
    // Joined by NUL, which neither a Postgres nor a MySQL identifier holds (checkIdentifier refuses it).
    const key = shape.join('\u0000');
    let s = this.byShape.get(key);
    if (s === undefined) {
      s = build();
      // Odd remainders make new shapes; a bound keeps a long-running sink from collecting them forever.
      if (this.byShape.size >= MAX_CACHED_STATEMENTS) this.byShape.clear();
      this.byShape.set(key, s);
    }
    return s;
  }
}

/** `rows.flat()` without its generic path, which profiled as the sink's largest own cost per batch. */
export function flatten(rows: readonly (readonly unknown[])[]): unknown[] {
  let n = 0;
  for (const r of rows) n += r.length;
  const out: unknown[] = new Array(n);
  let i = 0;
  for (const r of rows) for (let j = 0; j < r.length; j++) out[i++] = r[j];
  return out;
}

/** The connection dropped (its 'error' event cleared it): retriable, the next attempt reconnects. */
export function connectionLost(): SinkError {
  return new SinkError('the connection to the target was lost', { retriable: true });
}

interface Connection {
  on(event: 'error', listener: (err: Error) => void): unknown;
  end(): Promise<unknown>;
}

/**
 * A dialect's connection: `create` it, run `setup` on it (a failure ends it again), and call `lost` when it
 * emits 'error' (a dropped connection does; without a listener that would crash the process).
 */
export async function openConnection<C extends Connection>(
  create: () => C | Promise<C>,
  setup: (c: C) => Promise<void>,
  lost: (c: C) => void,
): Promise<C> {
  const c = await create();
  c.on('error', () => lost(c));
  try {
    await setup(c);
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}
