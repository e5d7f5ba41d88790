/**
 * A5 kill during an on-demand snapshot chunk: 3000 rows, updates running all along, an on-demand snapshot in chunks
 * of 100 (30 chunks) requested at start, the process SIGKILLed by the fault point `snapshot_after_chunk` right after
 * its 15th chunk went to the pipeline. The next run resumes the snapshot from its last durable chunk (the checkpoint
 * every sink held, not zero). Pass: O1-O5 over every run; O4 rebuilds the table with the highest position per key
 * winning, so a stale snapshot row placed after a newer change would show as a row that differs from the source.
 */
import { expect, inject, it } from 'vitest';
import { createScenario, sql } from './harness.js';

const KILL_AT_CHUNK = 15;

/** The on-demand snapshot's checkpoint (the reader's table in the source database), null before the first. */
async function checkpoint(url: string, slot: string): Promise<{ lastKey: string[] | null; done: boolean } | null> {
  const r = await sql(url, 'SELECT state FROM walstream_snapshot_checkpoints WHERE slot = $1', [slot]).catch(() => ({
    rows: [] as { state: unknown }[],
  }));
  const states = r.rows.map((x) => x.state as { id: string; lastKey: string[] | null; done: boolean });
  return states.find((x) => x.id !== 'initial') ?? null;
}

it('A5 kill during an on-demand snapshot chunk under concurrent updates: O1-O5, no stale row wins', async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const sinks = [{ name: 'rec' }];
  try {
    for (let k = 0; k < 30; k++) await s.workload.tx(Array.from({ length: 100 }, (_, i) => 1 + k * 100 + i));
    s.workload.start({ keys: 3000, rowsPerTx: 3 });
    const first = s.start({ sinks });
    await first.waitFor('started');
    await new Promise((r) => setTimeout(r, 1000));
    await s.end(first, 'SIGTERM');
    const killed = s.start({
      sinks,
      snapshot: { tables: ['public.w'], chunkRows: 100 },
      fault: `snapshot_after_chunk:${KILL_AT_CHUNK}`,
    });
    const end = await s.end(killed, undefined, 60_000);
    // The fault point fired by itself (not the harness's stuck-run kill).
    expect(end).toMatchObject({ signal: 'SIGKILL', stuck: false });
    const reads = (await s.deliveries()).filter((d) => d.run === killed.run && d.op === 'READ');
    const keys = reads.map((d) => Number(d.after?.id));
    // Chunks 1-15 of keys 1..3000 in key order: the kill landed in the middle, past no key of chunk 16.
    expect(reads.length).toBeGreaterThan(0);
    expect(Math.max(...keys)).toBeLessThanOrEqual(KILL_AT_CHUNK * 100);
    const cp = await checkpoint(s.url, s.slot);
    expect(cp?.done).toBe(false);
    // The checkpoint names a chunk every sink held: at most what the killed run delivered, and past zero.
    const boundary = Number(cp?.lastKey?.[0] ?? 0);
    expect(boundary).toBeGreaterThan(0);
    expect(boundary).toBeLessThanOrEqual(Math.max(...keys));

    // The next run resumes the snapshot past the checkpoint and finishes it.
    const resumed = s.start({ sinks });
    await resumed.waitFor('started');
    for (let i = 0; i < 600 && !(await checkpoint(s.url, s.slot))?.done; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await checkpoint(s.url, s.slot))?.done).toBe(true);
    await s.end(resumed, 'SIGTERM');
    const again = (await s.deliveries()).filter((d) => d.run === resumed.run && d.op === 'READ');
    expect(again.length).toBeGreaterThan(0);
    expect(Math.min(...again.map((d) => Number(d.after?.id)))).toBeGreaterThan(boundary);

    await s.workload.stop();
    await s.catchUp(sinks);
    console.log(`A5: killed after chunk ${KILL_AT_CHUNK}, checkpoint at key ${boundary}; ${await s.oracles(['rec'])}`);
  } finally {
    await s.close();
  }
}, 180_000);
