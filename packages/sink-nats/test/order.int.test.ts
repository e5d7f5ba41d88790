import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  type ChangeEvent,
  createPipeline,
  decodeMsgpackMulti,
  fromMsgpackObject,
  type ReaderItem,
} from '@walstream/core';
import { commitOf, createArrayReader, makeEvent } from '@walstream/core/testing';
import { startNatsServer } from '@walstream/testkit';
import { describe, expect, it } from 'vitest';
import { createNatsSink } from '../src/index.js';

/** 600 transactions of 4 events spread over three tables (three subjects). */
function items(): ReaderItem[] {
  const out: ReaderItem[] = [];
  for (let t = 0; t < 600; t++) {
    const lsn = 0x1000n + BigInt(t) * 0x100n;
    for (let i = 0; i < 4; i++)
      out.push(makeEvent({ lsn, index: i, table: `t${(t + i) % 3}`, after: { id: t * 4 + i } }));
    out.push(commitOf(lsn, 4, String(t)));
  }
  return out;
}

describe('nats sink: order per subject across a broker crash', () => {
  it.each(['event', 'batch'] as const)(
    '%s mode: with writes in flight, killed and restarted, every subject holds its events in source order, each once',
    async (mode) => {
      const server = await startNatsServer();
      const admin = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      try {
        const all = items();
        const reader = createArrayReader(all);
        const sink = createNatsSink({
          servers: server.url,
          mode,
          batchMaxEvents: 7,
          stream: { name: 'CDC', subjects: ['cdc.>'] },
          schemaBucket: false,
          ackTimeoutMs: 300,
          writesInFlight: 8,
          maxPendingAcks: 64,
        });
        const p = createPipeline({
          name: 'nats-order',
          reader,
          sinks: [sink],
          batch: { maxEvents: 12, maxWaitMs: 1 },
          retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 200 },
        });
        await p.start();
        while (reader.pulled < 800) await new Promise((r) => setTimeout(r, 2));
        await server.kill();
        await new Promise((r) => setTimeout(r, 400));
        await server.restart();
        await p.done;
        const jsm = await jetstreamManager(admin);
        const info = await jsm.streams.info('CDC');
        const bySubject = new Map<string, ChangeEvent[]>();
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage('CDC', { seq });
          if (!m) continue;
          const [v] = decodeMsgpackMulti(m.data);
          const evs = Array.isArray(v) ? v.map(fromMsgpackObject) : [fromMsgpackObject(v)];
          bySubject.set(m.subject, [...(bySubject.get(m.subject) ?? []), ...evs]);
        }
        const expected = all.filter((i): i is ChangeEvent => (i as { kind?: string }).kind === undefined);
        for (const [subject, evs] of bySubject) {
          const table = subject.split('.')[1];
          // In stream order, duplicates included: exactly the source's events of that table, in source order.
          expect(evs.map((e) => e.id)).toEqual(expected.filter((e) => e.table === table).map((e) => e.id));
        }
        expect(bySubject.size).toBe(3);
      } finally {
        await admin.close();
        await server.stop();
      }
    },
    120_000,
  );
});
