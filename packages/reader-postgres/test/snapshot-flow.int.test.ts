/**
 * An initial snapshot's COPY is paused while the consumer is behind: a chunk of wide rows must not pile up in
 * memory as READ events waiting for a slow sink (memory bounded by the reader's read-ahead, not by the chunk).
 * A stop in the middle of a table cuts its COPY: the rest of the table is not read to be thrown away. A table's
 * COPY runs as long as the sinks take, so a statement_timeout of the role or database must not cut it.
 */
import { createPipeline, type Logger, type Sink } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';
import { until } from './snapshot-helpers.js';

const ROWS = 600;
const WIDTH = 64 * 1024; // 600 rows of 64 KiB: about 38 MiB in one chunk

describe.each(servers().filter((s) => s.version === 18))(
  'Postgres $version snapshot flow control',
  ({ url: adminUrl }) => {
    it('pauses the COPY while a slow sink holds the pipeline: a 38 MiB chunk does not pile up', async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE wide (id int PRIMARY KEY, pad text)');
      // Uncompressible text, so the rows really are 64 KiB on the wire (not TOAST-compressed to nothing).
      await sql(
        url,
        `ALTER TABLE wide ALTER COLUMN pad SET STORAGE EXTERNAL;
       INSERT INTO wide SELECT g, (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, ${WIDTH / 32}) i)
         FROM generate_series(1, ${ROWS}) g`,
      );
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'wide_pub',
        tables: ['wide'],
        snapshot: { mode: 'initial' },
      });
      let growth = -1;
      let seen = 0;
      const slow: Sink = {
        name: 'slow',
        async write(b) {
          if (growth === -1 && b.events.length > 0) {
            // The pipeline waits for this write; meanwhile the reader may copy ahead only as far as its budget.
            const before = process.memoryUsage().heapUsed;
            let peak = before;
            for (let i = 0; i < 30; i++) {
              await new Promise((r) => setTimeout(r, 50));
              peak = Math.max(peak, process.memoryUsage().heapUsed);
            }
            growth = peak - before;
          }
          seen += b.events.filter((e) => e.operation === 'READ').length;
        },
      };
      const pipeline = createPipeline({ name: 'flow', reader, sinks: [slow], batch: { maxEvents: 4 } });
      await pipeline.start();
      try {
        for (let i = 0; i < 600 && seen < ROWS; i++) await new Promise((r) => setTimeout(r, 100));
        expect(seen).toBe(ROWS);
        // Without the pause the whole chunk (38 MiB of text) was queued while the sink waited.
        expect(growth).toBeGreaterThanOrEqual(0);
        expect(growth).toBeLessThan(16 * 2 ** 20);
      } finally {
        await pipeline.stop();
      }
    }, 120_000);

    it('a stop mid-table ends the COPY on the server instead of reading the rest of the table', async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE big (id int PRIMARY KEY, pad text)');
      await sql(url, `INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g`);
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'big_pub',
        tables: ['big'],
        snapshot: { mode: 'initial', chunkRows: 1000 },
      });
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let seen = 0;
      // The sink holds the pipeline after the first rows, so the copy stops early in the table.
      const sink: Sink = {
        name: 'held',
        async write(b) {
          seen += b.events.length;
          await held;
        },
      };
      const pipeline = createPipeline({ name: 'stop-mid-copy', reader, sinks: [sink] });
      await pipeline.start();
      const copying = async () =>
        Number(
          (
            await sql(
              url,
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()`,
            )
          ).rows[0].n,
        );
      await until(() => seen > 0, 'the first rows');
      expect(await copying()).toBe(1);
      const stopped = pipeline.stop();
      release();
      await stopped;
      // The server's backend ends with the connection (no COPY left running or being drained).
      await until(async () => (await copying()) === 0, 'the COPY to end on the server', 100);
      // What the server read of the table (flushed when its backend ended): far from all of it.
      const read = await sql(
        url,
        `SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) AS n FROM pg_stat_user_tables WHERE relname = 'big'`,
      );
      expect(Number(read.rows[0].n)).toBeGreaterThan(0);
      expect(Number(read.rows[0].n)).toBeLessThan(150000);
    }, 120_000);

    it("a database's statement_timeout does not cut the initial copy's COPY, however slow the sinks", async () => {
      const url = await freshDatabase(adminUrl);
      await sql(url, 'CREATE TABLE slow (id int PRIMARY KEY, pad text)');
      // 40,000 rows of about 400 bytes: 16 MB, more than the socket buffers hold, so the COPY waits for the sink.
      await sql(url, `INSERT INTO slow SELECT g, repeat(md5(g::text), 12) FROM generate_series(1, 40000) g`);
      const db = new URL(url).pathname.slice(1);
      await sql(url, `ALTER DATABASE ${db} SET statement_timeout = '300ms'`);
      const warnings: string[] = [];
      const logger: Logger = {
        debug: () => {},
        info: () => {},
        warn: (msg) => warnings.push(msg),
        error: () => {},
      };
      const reader = createPostgresReader({
        connectionString: url,
        slot: slotName(url),
        publication: 'slow_pub',
        tables: ['slow'],
        snapshot: { mode: 'initial', chunkRows: 1000 },
        logger,
      });
      let seen = 0;
      // 40 writes of 1,000 rows at 50 ms each: the table's COPY waits on them for about two seconds.
      const sink: Sink = {
        name: 'slow',
        async write(b) {
          await new Promise((r) => setTimeout(r, 50));
          seen += b.events.filter((e) => e.operation === 'READ').length;
        },
      };
      const pipeline = createPipeline({ name: 'timeout', reader, sinks: [sink], batch: { maxEvents: 1000 } });
      await pipeline.start();
      try {
        await until(() => seen >= 40000, 'every row', 300);
        const initial = pipeline.status().snapshot.find((t) => t.snapshotId === 'initial');
        expect(initial?.state).toBe('done');
        // Not cut and taken over by an on-demand continuation: the exported snapshot held to the end.
        expect(warnings.filter((w) => w.includes('initial snapshot'))).toEqual([]);
        expect(seen).toBe(40000);
      } finally {
        await pipeline.stop();
      }
    }, 120_000);
  },
);
