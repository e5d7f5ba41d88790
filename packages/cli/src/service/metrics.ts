/**
 * Prometheus metrics. Counters and gauges are read from `pipeline.status()` at scrape time (no second source of
 * truth); per-table counts and commit-time lag come from a thin wrapper around each sink. Label values are
 * pipeline, sink, table and error-code names only: never row values, never connection strings.
 */
import type { Batch, Pipeline, PipelineStatus, Sink, WalstreamError } from '@walstream/core';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SlotReport } from './slot-monitor.js';

interface Tracked {
  pipeline: Pipeline;
  /** Newest commit timestamp (ms) each sink has written. */
  written: Map<string, number>;
  slot: SlotReport | null;
}

const STATES = ['idle', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const;
const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'] as const;
const lsnNumber = (lsn: bigint | undefined): number => (lsn === undefined ? 0 : Number(lsn));

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly tracked = new Map<string, Tracked>();
  private readonly eventsOutTable: Counter<'pipeline' | 'sink' | 'table' | 'operation'>;
  private readonly errors: Counter<'pipeline' | 'code'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'walstream_' });
    const self = this;
    const fromStatus = <L extends string>(
      kind: 'counter' | 'gauge',
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (s: PipelineStatus, t: Tracked, set: (labels: Record<L, string>, v: number) => void) => void,
    ) => {
      const Metric = kind === 'counter' ? Counter : Gauge;
      new Metric({
        name,
        help,
        labelNames,
        registers,
        collect(this: Counter<L> | Gauge<L>) {
          this.reset();
          for (const t of self.tracked.values()) {
            const set = (labels: Record<L, string>, v: number) =>
              this instanceof Counter ? this.inc(labels as never, v) : (this as Gauge<L>).set(labels as never, v);
            read(t.pipeline.status(), t, set);
          }
        },
      });
    };

    fromStatus(
      'counter',
      'walstream_events_in_total',
      'Change events read from the source.',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, s.eventsIn),
    );
    fromStatus(
      'counter',
      'walstream_events_dropped_total',
      'Events dropped by transforms (filters).',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, s.eventsDropped),
    );
    // Per-sink counters, one per field of the sinks' status.
    const perSink = [
      ['walstream_sink_events_total', 'Events durably written per sink.', 'eventsOut'],
      ['walstream_sink_batches_total', 'Batches written per sink.', 'batchesOut'],
      ['walstream_sink_retries_total', 'Write retries per sink.', 'retries'],
      ['walstream_dead_lettered_events_total', 'Events sent to a dead-letter sink.', 'deadLettered'],
    ] as const;
    for (const [name, help, field] of perSink) {
      fromStatus('counter', name, help, ['pipeline', 'sink'], (s, _t, set) => {
        for (const k of s.sinks) set({ pipeline: s.name, sink: k.name }, k[field]);
      });
    }
    fromStatus('gauge', 'walstream_received_lsn', 'Last WAL position read (as a number).', ['pipeline'], (s, _t, set) =>
      set({ pipeline: s.name }, lsnNumber(s.received?.lsn)),
    );
    fromStatus(
      'gauge',
      'walstream_confirmed_lsn',
      'Last WAL position every sink holds, confirmed to Postgres.',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, lsnNumber(s.committed?.lsn)),
    );
    fromStatus(
      'gauge',
      'walstream_lag_bytes',
      'WAL bytes read but not yet held by every sink.',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, s.lagBytes),
    );
    fromStatus(
      'gauge',
      'walstream_lag_seconds',
      'Now minus the commit time of the oldest change not yet held by every sink.',
      ['pipeline'],
      (s, t, set) => {
        const idle = s.lagBytes === 0;
        const oldest = Math.min(...(t.written.size ? t.written.values() : [Date.now()]));
        set({ pipeline: s.name }, idle ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    );
    fromStatus(
      'gauge',
      'walstream_in_flight_bytes',
      'Bytes read and not yet written by every sink.',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, s.inFlightBytes),
    );
    fromStatus(
      'gauge',
      'walstream_backpressure',
      '1 while the reader is paused for memory.',
      ['pipeline'],
      (s, _t, set) => set({ pipeline: s.name }, s.backpressure ? 1 : 0),
    );
    fromStatus(
      'gauge',
      'walstream_pipeline_state',
      '1 for the state the pipeline is in.',
      ['pipeline', 'state'],
      (s, _t, set) => {
        for (const st of STATES) set({ pipeline: s.name, state: st }, s.state === st ? 1 : 0);
      },
    );
    fromStatus(
      'gauge',
      'walstream_slot_retained_wal_bytes',
      'WAL the slot keeps on the server (from the slot monitor).',
      ['pipeline', 'slot'],
      (s, t, set) => {
        if (t.slot) set({ pipeline: s.name, slot: t.slot.slot }, t.slot.retainedBytes);
      },
    );
    fromStatus(
      'gauge',
      'walstream_slot_lag_level',
      'Slot lag level: 0 ok, 1 warning, 2 critical.',
      ['pipeline', 'slot'],
      (s, t, set) => {
        if (t.slot) set({ pipeline: s.name, slot: t.slot.slot }, { ok: 0, warning: 1, critical: 2 }[t.slot.level]);
      },
    );
    // wal_status apart from the lag level: `lost` means the slot was invalidated and changes are gone (the reader
    // fails with SLOT_INVALIDATED on its next connect), `unreserved` that it is about to be; the lag level alone
    // cannot tell a lost slot from a large one.
    fromStatus(
      'gauge',
      'walstream_slot_wal_status',
      "1 for the slot's wal_status (reserved, extended, unreserved, lost); none while the slot is missing.",
      ['pipeline', 'slot', 'status'],
      (s, t, set) => {
        if (!t.slot?.exists || t.slot.walStatus === null) return;
        for (const st of WAL_STATUSES)
          set({ pipeline: s.name, slot: t.slot.slot, status: st }, t.slot.walStatus === st ? 1 : 0);
      },
    );
    fromStatus(
      'gauge',
      'walstream_snapshot_rows',
      'Rows copied by snapshots, per table.',
      ['pipeline', 'table'],
      (s, _t, set) => {
        for (const p of s.snapshot) set({ pipeline: s.name, table: p.table }, p.rowsDone);
      },
    );
    fromStatus(
      'gauge',
      'walstream_snapshot_rows_estimated',
      'Estimated rows of tables being snapshotted.',
      ['pipeline', 'table'],
      (s, _t, set) => {
        for (const p of s.snapshot)
          if (p.rowsEstimated !== null) set({ pipeline: s.name, table: p.table }, p.rowsEstimated);
      },
    );

    this.eventsOutTable = new Counter({
      name: 'walstream_table_events_total',
      help: 'Events durably written per sink, table and operation.',
      labelNames: ['pipeline', 'sink', 'table', 'operation'],
      registers,
    });
    this.errors = new Counter({
      name: 'walstream_errors_total',
      help: 'Errors by code (retried write failures and fatal errors).',
      labelNames: ['pipeline', 'code'],
      registers,
    });
  }

  /** Wraps a sink so its written events are counted per table and its newest commit time is known. */
  wrapSink(pipeline: string, sink: Sink): Sink {
    const written = this.writtenOf(pipeline);
    const counter = this.eventsOutTable;
    const write = async (batch: Batch, opts: { signal: AbortSignal }) => {
      await sink.write(batch, opts);
      const counts = new Map<string, number>();
      let newest = 0;
      for (const e of batch.events) {
        const key = `${e.schema}.${e.table}\u0000${e.operation}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const t = Date.parse(e.timestamp);
        if (t > newest) newest = t;
      }
      for (const [key, n] of counts) {
        const [table, operation] = key.split('\u0000') as [string, string];
        counter.inc({ pipeline, sink: sink.name, table, operation }, n);
      }
      if (newest > 0) written.set(sink.name, Math.max(written.get(sink.name) ?? 0, newest));
    };
    return new Proxy(sink, {
      get(target, prop) {
        if (prop === 'write') return write;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  track(pipeline: Pipeline): void {
    const written = this.writtenOf(pipeline.name);
    this.tracked.set(pipeline.name, { pipeline, written, slot: null });
    const count = (error: WalstreamError) => this.errors.inc({ pipeline: pipeline.name, code: error.code });
    pipeline.on('retrying', (e) => count(e.error));
    pipeline.on('error', (e) => count(e.error));
  }

  setSlot(pipeline: string, report: SlotReport): void {
    const t = this.tracked.get(pipeline);
    if (t) t.slot = report;
  }

  private readonly pendingWritten = new Map<string, Map<string, number>>();
  private writtenOf(pipeline: string): Map<string, number> {
    let m = this.pendingWritten.get(pipeline);
    if (!m) {
      m = new Map();
      this.pendingWritten.set(pipeline, m);
    }
    return m;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
