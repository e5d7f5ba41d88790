/**
 * SIGKILL of the archiver mid-segment, several times, while the server writes WAL. Oracles: the archive's
 * complete segments are consecutive (no gap) and read as one WAL stream (pg_waldump on 15, a page walk on
 * both); at every kill the slot never confirmed more than the archive durably held (the archive's bytes up to
 * the slot's restart_lsn equal the server's own WAL file).
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createPipeline, formatLsn, parseLsn } from '@walstream/core';
import { type PostgresCluster, startTcpProxy } from '@walstream/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPhysicalReader, createWalArchiveSink, segmentName } from '../src/index.js';
import { output, runChild, waitForLine } from './children/run.js';
import {
  currentLsn,
  execFileAsync,
  PG15_BIN,
  scratch,
  segments,
  sql,
  startCluster,
  versions,
  waitUntil,
} from './helpers.js';
import { verifyWalPages } from './verify.js';

const SEG = 16 * 1024 * 1024;
const KILLS = 4;

async function readRange(path: string, from: number, len: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(len);
    await fh.read(b, 0, len, from);
    return b;
  } finally {
    await fh.close();
  }
}

describe.each(versions)('PostgreSQL %i: archiver crash', (version) => {
  let cluster: PostgresCluster;
  let root: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    cluster = await startCluster(version);
    root = await scratch(`crash${version}`);
  });
  afterAll(async () => {
    await cluster?.stop();
    await root?.cleanup();
  });

  it(`resumes after ${KILLS} SIGKILLs mid-segment with no gap`, async () => {
    const url = cluster.connectionString;
    const dir = join(root.dir, 'wal');
    await sql(url, 'CREATE TABLE filler (id bigserial PRIMARY KEY, pad text NOT NULL)');
    let writing = true;
    const writer = (async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      while (writing) {
        await c.query(`INSERT INTO filler (pad) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 300) g`);
      }
      await c.end();
    })();

    let sawMidSegment = 0;
    try {
      // At least KILLS kills, and more (up to 3 * KILLS) until one has landed mid-segment: under heavy load a few kills
      // may all find the slot at a segment boundary, which proves nothing about a torn segment.
      for (let k = 0; k < KILLS || (sawMidSegment === 0 && k < 3 * KILLS); k++) {
        const child = runChild('archiver.ts', [url, 'crash_slot', dir]);
        const done = output(child);
        await waitForLine(child, 'committed');
        await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
        child.kill('SIGKILL');
        await done;
        // The slot confirmed only what the archive holds durably.
        const [slot] = await sql<{ r: string }>(
          url,
          `SELECT restart_lsn::text AS r FROM pg_replication_slots WHERE slot_name = 'crash_slot'`,
        );
        const restart = parseLsn((slot as { r: string }).r);
        const segno = restart / BigInt(SEG);
        const off = Number(restart % BigInt(SEG));
        const name = segmentName(1, segno, SEG);
        const files = await readdir(dir);
        if (files.includes(`${name}.partial`) && off > 0) {
          sawMidSegment++;
          const ours = await readRange(join(dir, `${name}.partial`), 0, off);
          const server = await readRange(join(cluster.dataDir, 'pg_wal', name), 0, off);
          expect(ours.equals(server), `archive bytes before ${formatLsn(restart)}`).toBe(true);
        } else {
          expect(files.includes(name) || off === 0, `segment of ${formatLsn(restart)} archived`).toBe(true);
        }
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(sawMidSegment).toBeGreaterThan(0);

    // A last run: everything up to a marker is archived, then a clean stop.
    await sql(url, `INSERT INTO filler (pad) VALUES ('marker')`);
    const marker = await currentLsn(url);
    await sql(url, 'SELECT pg_switch_wal()');
    const child = runChild('archiver.ts', [url, 'crash_slot', dir]);
    const done = output(child);
    const markerSeg = segmentName(1, marker / BigInt(SEG), SEG);
    await waitUntil('the marker segment to be archived', async () => (await readdir(dir)).includes(markerSeg), 120_000);
    child.kill('SIGTERM');
    const exit = await done;
    expect(exit.stdout).toMatch(/stopped/);

    const names = await segments(dir);
    expect(names[names.length - 1]).toBe(markerSeg);
    const [id] = await sql<{ s: string }>(url, 'SELECT system_identifier::text AS s FROM pg_control_system()');
    await verifyWalPages(dir, names, SEG, (id as { s: string }).s);
    if (version === 15) {
      const first = names[0] as string;
      const start = formatLsn(BigInt(`0x${first.slice(16)}`) * BigInt(SEG));
      const r = await execFileAsync(
        join(PG15_BIN, 'pg_waldump'),
        ['-p', dir, '-s', start, '-e', formatLsn(marker), '--stats'],
        {
          maxBuffer: 64 << 20,
        },
      );
      expect(r.stdout).toMatch(/Heap/);
    }
  });

  it('reconnects after the walsender is terminated and continues with no gap', async () => {
    const url = cluster.connectionString;
    const dir = join(root.dir, 'wal-reconnect');
    await sql(url, 'CREATE TABLE IF NOT EXISTS filler2 (id bigserial PRIMARY KEY, pad text NOT NULL)');
    const reader = createPhysicalReader({
      connectionString: url,
      slot: 'reconnect_slot',
      statusIntervalMs: 200,
      applicationName: 'walstream-reconnect-test',
    });
    const pipeline = createPipeline({ name: 'reconnect', reader, sinks: [createWalArchiveSink({ dir })] });
    await pipeline.start();
    try {
      for (let k = 0; k < 3; k++) {
        await sql(url, `INSERT INTO filler2 (pad) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 3000) g`);
        await waitUntil('the walsender', async () => {
          const rows = await sql(
            url,
            `SELECT pid FROM pg_stat_replication WHERE application_name = 'walstream-reconnect-test'`,
          );
          return rows.length === 1;
        });
        await sql(
          url,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'walstream-reconnect-test'`,
        );
        await waitUntil('the reconnect', () => reader.reconnects > k, 60_000);
      }
      await sql(url, `INSERT INTO filler2 (pad) VALUES ('marker')`);
      const marker = await currentLsn(url);
      await sql(url, 'SELECT pg_switch_wal()');
      await waitUntil('the marker to be archived', () => (pipeline.status().committed?.lsn ?? 0n) > marker, 120_000);
      expect(pipeline.status().state).toBe('running');
      // The server hears the committed position as write, flush and apply; the slot follows flush.
      await waitUntil('the status update', async () => {
        const [r] = await sql<{ w: string; f: string; a: string; slot: string }>(
          url,
          `SELECT write_lsn::text AS w, flush_lsn::text AS f, replay_lsn::text AS a,
                  (SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'reconnect_slot') AS slot
             FROM pg_stat_replication WHERE application_name = 'walstream-reconnect-test'`,
        );
        if (!r || parseLsn(r.f) <= marker) return false;
        expect(r.w).toBe(r.f);
        expect(r.a).toBe(r.f);
        expect(parseLsn(r.f)).toBeLessThanOrEqual(pipeline.status().committed?.lsn ?? 0n);
        return parseLsn(r.slot) > marker;
      });
    } finally {
      await pipeline.stop();
    }
    const names = await segments(dir);
    const [id] = await sql<{ s: string }>(url, 'SELECT system_identifier::text AS s FROM pg_control_system()');
    await verifyWalPages(dir, names, SEG, (id as { s: string }).s);
    expect(reader.reconnects).toBe(3);
  });

  it('a connection lost while read() opens it is a reconnect, not the end of read()', async () => {
    // The cut comes exactly while the first command of the set-up (IDENTIFY_SYSTEM) waits for its answer.
    const proxy = await startTcpProxy({ host: cluster.host, port: cluster.port });
    let cut = false;
    proxy.transform('server', (data) => {
      if (!cut && data.includes('IDENTIFY_SYSTEM')) {
        cut = true;
        setImmediate(() => proxy.cut());
      }
      return data;
    });
    const reader = createPhysicalReader({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      slot: 'open_cut_slot',
      reconnect: { initialDelayMs: 50, maxDelayMs: 50 },
    });
    try {
      let chunks = 0;
      for await (const item of reader.read()) {
        if ((item as { walKind?: string }).walKind === 'wal' && ++chunks === 1) break;
      }
      expect(cut).toBe(true);
      expect(reader.reconnects).toBe(1);
    } finally {
      await reader.close();
      await proxy.close();
      await sql(cluster.connectionString, `SELECT pg_drop_replication_slot('open_cut_slot')`).catch(() => {});
    }
  });

  it('read() fails at once when the server was never reached', async () => {
    const proxy = await startTcpProxy({ host: cluster.host, port: cluster.port });
    proxy.refuse();
    const reader = createPhysicalReader({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      slot: 'never_reached_slot',
      reconnect: { initialDelayMs: 50, maxDelayMs: 50 },
    });
    try {
      await expect(
        (async () => {
          for await (const _ of reader.read()) {
            // nothing comes
          }
        })(),
      ).rejects.toThrow('cannot open the replication connection');
      expect(reader.reconnects).toBe(0);
    } finally {
      await reader.close();
      await proxy.close();
    }
  });

  it('says why the server refused the connection (its message and SQLSTATE), never the password', async () => {
    const url = new URL(cluster.connectionString);
    url.username = 'ghost_role';
    url.password = 'sekret-pw';
    const reader = createPhysicalReader({ connectionString: url.href, slot: 'ghost_slot' });
    try {
      const err = (await reader.open().catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/^cannot open the replication connection: .*"ghost_role".* \(SQLSTATE 28000\)$/);
      expect(err.message).not.toContain('sekret-pw');
    } finally {
      await reader.close();
    }
  });

  it('close() during a reconnect backoff ends read() at once and opens no connection after it', async () => {
    const url = cluster.connectionString;
    const app = 'walstream-close-backoff';
    const reader = createPhysicalReader({
      connectionString: url,
      slot: 'close_backoff_slot',
      applicationName: app,
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const walsenders = async () =>
      (await sql(url, `SELECT pid FROM pg_stat_replication WHERE application_name = '${app}'`)).length;
    let ended = false;
    // No signal given to read(): only close() can end the backoff.
    const reading = (async () => {
      for await (const _ of reader.read()) {
        // WAL chunks; this test is about how reading ends.
      }
      ended = true;
    })();
    try {
      await waitUntil('the walsender', async () => (await walsenders()) === 1);
      await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = '${app}'`);
      await waitUntil('the backoff', () => reader.reconnects === 1);
      await reader.close();
      // Well before the 60 s backoff would have ended.
      await waitUntil('read() to end', () => ended, 10_000);
      await reading;
      expect(await walsenders()).toBe(0);
    } finally {
      await reader.close();
      await sql(url, `SELECT pg_drop_replication_slot('close_backoff_slot')`).catch(() => {});
    }
  });
});
