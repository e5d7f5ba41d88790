import type { ReaderItem } from '@walstream/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresReader } from '../src/index.js';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';

// Only the first server: the behaviour is the reader's, not the server's.
const [server] = servers();

describe('reader event-loop turns', () => {
  let reader: PostgresReader | null = null;
  afterEach(async () => {
    await reader?.close();
    reader = null;
  });

  it('gives the event loop a turn while it drains a full queue (sinks acks and timers are served in a catch-up)', async () => {
    const url = await freshDatabase((server as { url: string }).url);
    await sql(url, 'CREATE TABLE t (id int PRIMARY KEY, pad text)');
    await sql(url, 'CREATE PUBLICATION it_pub FOR TABLE t');
    reader = createPostgresReader({
      connectionString: url,
      slot: slotName(url),
      publication: 'it_pub',
      maxQueueBytes: 2 << 20,
    });
    await reader.open();
    await sql(url, "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 60000) g");
    const it = reader.read()[Symbol.asyncIterator]();
    await it.next();
    // Let the queue fill until the socket is paused: every queued frame can then be handed out in microtasks.
    for (let i = 0; i < 3000 && !reader.status().paused; i++) await new Promise((r) => setTimeout(r, 20));
    expect(reader.status().paused).toBe(true);
    const queuedBytes = reader.status().queuedBytes;
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    let before = 0;
    // Stops at the last row too: with no turn at all, the queue drains and the next pull would wait forever.
    for (let r = await it.next(); !r.done && !turned; r = await it.next()) {
      if ((r.value as ReaderItem & { kind?: string }).kind === undefined && ++before === 59_999) break;
    }
    expect(turned).toBe(true);
    // Each queued insert frame is well over 20 bytes: the turn came long before the queue was drained.
    expect(before).toBeLessThan(queuedBytes / 20 / 4);
    await it.return?.();
  }, 120_000);
});
