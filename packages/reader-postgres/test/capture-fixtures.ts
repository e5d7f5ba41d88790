/**
 * Captures raw pgoutput frames from real servers into test/fixtures/*.frames (one hex XLogData frame per line)
 * for the decoder's unit tests. Run: node --conditions=source --import tsx test/capture-fixtures.ts
 */
import { writeFile } from 'node:fs/promises';
import { type PostgresVersion, startPostgres } from '@walstream/testkit';
import pg from 'pg';
import { ReplicationConnection } from '../src/replication.js';

const SCENARIO = [
  `CREATE TYPE mood AS ENUM ('sad', 'happy')`,
  `CREATE TABLE items (id int PRIMARY KEY, name text, big int8, price numeric(10,2), tags text[], m mood, doc jsonb, body text)`,
  `ALTER TABLE items ALTER COLUMN body SET STORAGE EXTERNAL`,
  `CREATE TABLE audit (id int PRIMARY KEY, note text)`,
  `ALTER TABLE audit REPLICA IDENTITY FULL`,
  `CREATE PUBLICATION fx_pub FOR TABLE items, audit`,
  `SELECT pg_create_logical_replication_slot('fx_slot', 'pgoutput', false, TWO_PHASE)`,
  `INSERT INTO items VALUES (1, 'a', 9223372036854775807, 1.50, '{x,"y z",NULL}', 'happy', '{"n": 12345678901234567890}', repeat('b', 5000)), (2, NULL, -1, NULL, '{}', 'sad', '[]', 'short')`,
  `UPDATE items SET name = 'a2' WHERE id = 1`,
  `UPDATE items SET id = 20 WHERE id = 2`,
  `DELETE FROM items WHERE id = 20`,
  `INSERT INTO audit VALUES (1, 'x'); UPDATE audit SET note = 'y' WHERE id = 1; DELETE FROM audit WHERE id = 1`,
  `BEGIN; SELECT pg_logical_emit_message(true, 'app', 'hello'); INSERT INTO audit VALUES (2, 'm'); COMMIT`,
  `SELECT pg_logical_emit_message(false, 'app', 'non-transactional')`,
  `ALTER TABLE audit ADD COLUMN extra int8`,
  `INSERT INTO audit VALUES (3, 'shape', 7)`,
  `BEGIN; INSERT INTO audit SELECT g, 'streamed' FROM generate_series(100, 1100) g; SAVEPOINT s; INSERT INTO audit SELECT g, 'gone' FROM generate_series(2000, 2500) g; ROLLBACK TO SAVEPOINT s; INSERT INTO audit VALUES (3000, 'kept'); COMMIT`,
  `BEGIN; INSERT INTO audit VALUES (4000, 'prepared'); PREPARE TRANSACTION 'p1'`,
  `BEGIN; INSERT INTO audit VALUES (4001, 'rolled back'); PREPARE TRANSACTION 'p2'`,
  `ROLLBACK PREPARED 'p2'`,
  `COMMIT PREPARED 'p1'`,
  `TRUNCATE items, audit RESTART IDENTITY`,
  `SELECT pg_logical_emit_message(true, 'fixture', 'end')`,
];

async function capture(version: PostgresVersion, proto: 1 | 2 | 3 | 4, file: string): Promise<void> {
  const cluster = await startPostgres({ version, settings: { logical_decoding_work_mem: '64kB' } });
  try {
    const c = new pg.Client({ connectionString: cluster.connectionString });
    await c.connect();
    for (const s of SCENARIO) await c.query(s.replace('TWO_PHASE', proto >= 3 ? 'true' : 'false'));
    await c.end();
    const conn = new ReplicationConnection({ connectionString: cluster.connectionString });
    await conn.connect();
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      conn
        .start(
          {
            slot: 'fx_slot',
            publication: 'fx_pub',
            protocolVersion: proto,
            binary: false,
            messages: true,
            streaming: proto >= 2,
            twoPhase: proto >= 3,
            startLsn: 0n,
          },
          {
            data: (frame) => {
              frames.push(frame.toString('hex'));
              if (frame.includes(Buffer.from('fixture\0'))) resolve();
            },
            keepalive: () => {},
            end: (err) => (err ? reject(err) : resolve()),
          },
        )
        .catch(reject);
    });
    await conn.end();
    await writeFile(new URL(`./fixtures/${file}`, import.meta.url), `${frames.join('\n')}\n`);
    console.log(`${file}: ${frames.length} frames from PostgreSQL ${version}, protocol ${proto}`);
  } finally {
    await cluster.stop();
  }
}

await capture(18, 4, 'pg18-proto4.frames');
await capture(15, 3, 'pg15-proto3.frames');
await capture(15, 1, 'pg15-proto1.frames');
