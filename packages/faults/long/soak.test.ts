/**
 * F30 soak, scaled to this machine: three sinks (one slow), a steady workload for WALSTREAM_FAULTS_SOAK_S seconds
 * (default 120), a SIGKILL at a chosen fault point every few seconds and a SIGTERM now and then. Pass: O1-O5
 * over every sink. (FAULTS.md asks 10k tx/s for an hour with an RSS and p99 bound: that is for bench/, not here.)
 */
import { expect, inject, it } from 'vitest';
import { createScenario } from '../test/harness.js';

const SECONDS = Number(process.env.WALSTREAM_FAULTS_SOAK_S ?? 120);

it(`F30 soak: ${SECONDS} s of writes, three sinks, kills at fault points and SIGTERMs; O1-O5`, async () => {
  const s = await createScenario(inject('faultsPostgres').url);
  const sinks = [{ name: 'one' }, { name: 'two' }, { name: 'slow', delayMs: 25 }];
  try {
    // A load the pipeline keeps up with: batches of up to 200 events let the slow sink (25 ms a write) take
    // thousands of events a second. With 20-event batches it took at most 800 against a workload of ~1900 rows/s:
    // the backlog grew all the soak long and the final catch-up ran at the slow sink's pace past the timeout.
    s.workload.start({ keys: 2000, rowsPerTx: 3 });
    const until = Date.now() + SECONDS * 1000;
    let kills = 0;
    let stops = 0;
    while (Date.now() < until) {
      if (Math.random() < 0.25) {
        const child = s.start({ sinks, maxEvents: 200 });
        await child.waitFor('started');
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 3000));
        expect((await s.end(child, 'SIGTERM')).code).toBe(0);
        stops++;
      } else {
        const point = Math.random() < 0.7 ? 'after_sink_write_before_ack' : 'after_ack';
        const child = s.start({ sinks, maxEvents: 200, fault: `${point}:${5 + Math.floor(Math.random() * 150)}` });
        // A fault point that has not fired after 15 s (few writes in that run) ends in a plain SIGKILL.
        await s.end(child, undefined, 15_000);
        kills++;
      }
    }
    await s.workload.stop();
    await s.catchUp(sinks, { maxEvents: 200 });
    const summary = await s.oracles(sinks.map((k) => k.name));
    console.log(`F30: ${kills} kills, ${stops} SIGTERMs, ${s.workload.committed.length} transactions; ${summary}`);
  } finally {
    await s.close();
  }
});
