// The child's sinks, built from their JSON specs (harness.ts: SinkSpec): recording sinks, and the real destinations
// of the target scenarios. A spec's `delayMs` makes any of them slow (the wait comes before the write). The sink
// packages load only when a spec names them: a child with recording sinks alone starts as fast as before.
import type { Batch, Sink, SinkWriteOptions } from '@walstream/core';
import { createRecordingSink } from '@walstream/testkit';
import type { ChildConfig } from '../harness.js';

export async function createSink(spec: ChildConfig['sinks'][number], run: number): Promise<Sink> {
  switch (spec.kind) {
    case undefined:
    case 'recording':
      // The recording sink waits by itself (before recording), as the existing scenarios expect.
      return createRecordingSink({ name: spec.name, path: spec.path, run, delayMs: spec.delayMs });
    case 'nats': {
      const { createNatsSink } = await import('@walstream/sink-nats');
      return slowed(
        createNatsSink({
          name: spec.name,
          servers: spec.servers,
          subject: spec.subject,
          json: true,
          stream: { name: spec.stream, create: false },
          // The machine's NATS is shared: no KV bucket of ours on it.
          schemaBucket: false,
        }),
        spec.delayMs,
      );
    }
    case 'postgres': {
      const { createPostgresSink } = await import('@walstream/sink-postgres');
      return slowed(createPostgresSink({ name: spec.name, connectionString: spec.url }), spec.delayMs);
    }
    case 'mysql': {
      const { createMySqlSink } = await import('@walstream/sink-mysql');
      return slowed(createMySqlSink({ name: spec.name, connectionString: spec.url }), spec.delayMs);
    }
    case 'rabbitmq': {
      const { createRabbitMqSink } = await import('@walstream/sink-rabbitmq');
      return slowed(
        createRabbitMqSink({ name: spec.name, url: spec.url, exchange: spec.exchange, confirmTimeoutMs: 5000 }),
        spec.delayMs,
      );
    }
  }
}

/** The same sink, waiting `ms` before each write (its other members untouched: open, close, position...). */
function slowed<S extends Sink>(sink: S, ms: number | undefined): S {
  if (!ms) return sink;
  const write = async (batch: Batch, opts: SinkWriteOptions) => {
    await new Promise((r) => setTimeout(r, ms));
    return sink.write(batch, opts);
  };
  return new Proxy(sink, {
    get(target, prop) {
      if (prop === 'write') return write;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
