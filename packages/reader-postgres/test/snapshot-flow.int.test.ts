/**
 * An initial snapshot's COPY is paused while the consumer is behind: a chunk of wide rows must not pile up in
 * memory as READ events waiting for a slow sink (memory bounded by the reader's read-ahead, not by the chunk).
 */
import { createPipeline, type Sink } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { freshDatabase, servers, slotName, sql } from './helpers.js';

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
  },
);
