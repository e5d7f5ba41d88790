/**
 * One transaction of 1,000,000 rows streams through with the reader's process staying under 200 MB resident,
 * with protocol 1 (sent after commit, read as it arrives) and protocol 2 (streamed before commit, buffered
 * and spilled to disk, replayed at commit).
 */
import { describe, expect, it } from 'vitest';
import { createPostgresReader } from '../src/index.js';
import { output, runChild } from './children/run.js';
import { freshTable, servers, sql } from './helpers.js';

const ROWS = 1_000_000;

describe.each(servers().filter((s) => s.version === 18))('Postgres $version large transaction', ({ url: adminUrl }) => {
  for (const proto of [1, 2] as const) {
    it(`streams ${ROWS.toLocaleString('en-US')} rows in one transaction under 200 MB RSS with protocol ${proto}`, async () => {
      const { url, slot } = await freshTable(
        adminUrl,
        'CREATE TABLE big (id int PRIMARY KEY, note text, amount numeric)',
      );
      const setup = createPostgresReader({ connectionString: url, slot, publication: 'big_pub', tables: ['big'] });
      await setup.open();
      await setup.close();
      await sql(url, `INSERT INTO big SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, ${ROWS}) g`);
      // A capped old space: memory that grows with the transaction still fails (out of memory), while V8's own
      // sizing, which lets the old generation reach several times its live size when the cores are busy with
      // other test files, no longer decides the outcome.
      const result = await output(
        runChild('./large-txn.ts', [url, slot, String(proto), String(ROWS)], ['--max-old-space-size=128']),
      );
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      const r = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
      expect(r.events).toBe(ROWS);
      expect(r.maxRssMb).toBeLessThan(200);
      if (proto === 2) expect(r.streamed).toBe(1);
      else expect(r.streamed).toBe(0);
    }, 300_000);
  }
});
