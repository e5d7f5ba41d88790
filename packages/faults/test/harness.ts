/**
 * Scenario harness: a fresh database with the workload table, a publication and a slot; child processes running
 * the pipeline into recording sinks (test/children/pipeline.ts), each one a numbered run; after every run the slot's
 * confirmed_flush_lsn is recorded (RunEnd) for the oracles; `oracles()` checks O1-O5 for every sink.
 * Beside the recording sinks a run may write to real destinations (NATS, a Postgres or MySQL table, RabbitMQ: see
 * TargetSpec and test/targets.ts), which the scenario's `onRunEnd` observers look at when each run ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresReader } from '@walstream/reader-postgres';
import {
  assertConfirmedNeverAhead,
  assertDuplicatesOnlyAfterAck,
  assertEveryChangeDelivered,
  assertPerKeyOrder,
  assertTargetEqualsSource,
  createWorkload,
  type Delivery,
  type RunEnd,
  slotConfirmedLsn,
  sql,
  until,
  type Workload,
} from '@walstream/testkit';
import { DeliveryLog } from './delivery-log.js';

/** A recording sink (test/delivery-log.ts reads what it kept). `delayMs`, here and in every spec: a slow sink. */
export interface RecordingSpec {
  kind?: 'recording';
  name: string;
  delayMs?: number;
}

/**
 * A real destination, built in the child from this (JSON) description: @walstream/sink-nats into `stream` (it
 * exists: the test made it), sink-postgres or sink-mysql applying into `url`, sink-rabbitmq publishing to `exchange`.
 */
export type TargetSpec =
  | { kind: 'nats'; name: string; delayMs?: number; servers: string; stream: string; subject: string }
  | { kind: 'postgres' | 'mysql'; name: string; delayMs?: number; url: string }
  | { kind: 'rabbitmq'; name: string; delayMs?: number; url: string; exchange: string };

export type SinkSpec = RecordingSpec | TargetSpec;

export const isRecording = (k: SinkSpec): k is RecordingSpec => k.kind === undefined || k.kind === 'recording';

export interface ChildConfig {
  url: string;
  slot: string;
  publication: string;
  tables?: string[];
  run: number;
  sinks: ((RecordingSpec & { path: string }) | TargetSpec)[];
  /** The pipeline's retry policy for every sink (core's default otherwise). */
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  maxEvents?: number;
  protocolVersion?: 1 | 2 | 3 | 4;
  /** false: the reader must find the slot (a restart after a failover must not start afresh). */
  createSlot?: boolean;
  /** Request an on-demand snapshot of these tables once started, in chunks of `chunkRows`. */
  snapshot?: { tables: string[]; chunkRows: number };
}

let counter = 0;

export { sql };

/** A fresh database on the cluster of `adminUrl`. */
export async function freshDatabase(adminUrl: string, prefix = 'f'): Promise<string> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await sql(adminUrl, `CREATE DATABASE ${name}`);
  return adminUrl.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
}

export interface RunningChild {
  readonly proc: ChildProcess;
  readonly run: number;
  /** Everything the child printed so far. */
  stdout(): string;
  /** Resolves once the child printed `line`. */
  waitFor(line: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the child has exited, with its signal (SIGKILL for a fault point) and code. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stuck: boolean;
  failed: string | null;
}

export interface Scenario {
  /** The source database; `moveTo` changes it (a failover). */
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  readonly workload: Workload;
  readonly dir: string;
  readonly ends: RunEnd[];
  /** Starts run n+1. `fault` sets WALSTREAM_FAULT for it. */
  start(opts: {
    sinks: SinkSpec[];
    fault?: string;
    retry?: ChildConfig['retry'];
    maxEvents?: number;
    protocolVersion?: 1 | 2;
    createSlot?: boolean;
    snapshot?: { tables: string[]; chunkRows: number };
    /** Connect the child here instead of `url` (the same database through a proxy). */
    via?: string;
  }): RunningChild;
  /**
   * The source moved to another server (a promoted standby): from now on the slot's position, the oracles' source
   * table and new runs use `url`.
   */
  moveTo(url: string): void;
  /**
   * Calls `observer` after each run end is recorded (in `end`, so also in `catchUp`): a target then notes what it
   * held when the slot had confirmed `end.confirmed`, for its own O5.
   */
  onRunEnd(observer: (end: RunEnd) => Promise<void>): void;
  /**
   * Waits for the child to exit (killing it with `signal` first, if given), then records the slot's position.
   * `failed`: the code the child printed when its pipeline failed (e.g. a sink's non-retriable error), else null.
   */
  end(child: RunningChild, signal?: NodeJS.Signals, stuckAfterMs?: number): Promise<RunResult>;
  deliveries(): Promise<Delivery[]>;
  /**
   * Runs one more clean run until every committed version reached every recording sink and `until` (the targets'
   * own check, if given) holds, then stops it with SIGTERM. Returns how it ended (as `end`).
   */
  catchUp(
    sinks: SinkSpec[],
    opts?: {
      maxEvents?: number;
      versions?: ReadonlySet<string>;
      retry?: ChildConfig['retry'];
      until?: () => Promise<boolean>;
    },
  ): Promise<RunResult>;
  /** O1-O5 over every sink; returns a one-line summary. `versions`: what was committed (default the workload's). */
  oracles(sinks: string[], versions?: ReadonlySet<string>): Promise<string>;
  close(): Promise<void>;
}

export function sinkPath(dir: string, name: string): string {
  return join(dir, `${name}.jsonl`);
}

export async function createScenario(
  adminUrl: string,
  opts: { table?: string; publicationFor?: string; failoverSlot?: boolean } = {},
): Promise<Scenario> {
  let url = await freshDatabase(adminUrl);
  const table = opts.table ?? 'w';
  const workload = await createWorkload({ connectionString: url, table });
  await workload.createTable();
  const publication = 'faults_pub';
  await sql(url, `CREATE PUBLICATION ${publication} FOR ${opts.publicationFor ?? `TABLE ${table}`}`);
  const slot = `s_${(url.split('/').pop() as string).replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  // The slot exists before the first write, so nothing committed is before it.
  const setup = createPostgresReader({
    connectionString: url,
    slot,
    publication,
    ...(opts.failoverSlot ? { failover: true } : {}),
  });
  await setup.open();
  await setup.close();
  const dir = await mkdtemp(join(tmpdir(), 'walstream-faults-'));
  const ends: RunEnd[] = [];
  let run = 0;
  const children = new Set<ChildProcess>();
  const log = new DeliveryLog(dir);
  const observers: ((end: RunEnd) => Promise<void>)[] = [];

  const s: Scenario = {
    get url() {
      return url;
    },
    slot,
    publication,
    workload,
    dir,
    ends,
    start(o) {
      run++;
      const cfg: ChildConfig = {
        url: o.via ?? url,
        slot,
        publication,
        run,
        sinks: o.sinks.map((k) => (isRecording(k) ? { ...k, path: sinkPath(dir, k.name) } : k)),
        ...(o.retry ? { retry: o.retry } : {}),
        ...(o.maxEvents ? { maxEvents: o.maxEvents } : {}),
        ...(o.protocolVersion ? { protocolVersion: o.protocolVersion } : {}),
        ...(o.createSlot === false ? { createSlot: false } : {}),
        ...(o.snapshot ? { snapshot: o.snapshot } : {}),
      };
      return spawnChild(cfg, o.fault, children);
    },
    moveTo(to) {
      url = to;
    },
    onRunEnd(observer) {
      observers.push(observer);
    },
    async end(child, signal, stuckAfterMs = 90_000) {
      if (signal && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill(signal);
      // A run that should end by itself (its fault point) but does not in time is stuck: say so.
      const stuck = await Promise.race([
        child.exited.then(() => false),
        new Promise<boolean>((res) => setTimeout(() => res(true), stuckAfterMs).unref()),
      ]);
      // Stuck (a fault point that never fired, a stop that hangs): killed, and said so in the result.
      if (stuck) child.proc.kill('SIGKILL');
      const r = await child.exited;
      // The walsender may still be flushing the last status update: give it a moment to reach the slot.
      await new Promise((res) => setTimeout(res, 200));
      const end = { run: child.run, confirmed: await slotConfirmedLsn(url, slot) };
      ends.push(end);
      for (const observe of observers) await observe(end);
      return { ...r, stuck, failed: /^failed (.*)$/m.exec(child.stdout())?.[1] ?? null };
    },
    async deliveries() {
      // A copy: callers keep what they got while the log grows.
      return (await log.read()).slice();
    },
    async catchUp(sinks, opts = {}) {
      const child = s.start({
        sinks,
        ...(opts.maxEvents ? { maxEvents: opts.maxEvents } : {}),
        ...(opts.retry ? { retry: opts.retry } : {}),
      });
      await child.waitFor('started');
      // The versions each recording sink still lacks, shrunk as deliveries come in (each delivery looked at once).
      const missing = new Map(
        sinks.filter(isRecording).map((k) => [k.name, new Set(opts.versions ?? workload.versions())]),
      );
      let looked = 0;
      // Up to two minutes, but give up after 15 s without a new delivery (the oracles then say what is missing).
      const deadline = Date.now() + 120_000;
      let quietSince = Date.now();
      while (Date.now() < deadline && Date.now() - quietSince < 15_000) {
        const got = await log.read();
        if (got.length !== looked) quietSince = Date.now();
        for (; looked < got.length; looked++) {
          const d = got[looked] as Delivery;
          if (d.after) missing.get(d.sink)?.delete(`${d.after.id}:${d.after.seq}`);
        }
        if ([...missing.values()].every((m) => m.size === 0)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // A slow target may still be behind the recording sinks. Not caught up in time (or the child failed): the
      // test's checks say how.
      const { until: caughtUp } = opts;
      const exited = () => child.proc.exitCode !== null || child.proc.signalCode !== null;
      if (caughtUp) await until(async () => exited() || (await caughtUp()), 'the targets', 60_000, 200).catch(() => {});
      return await s.end(child, 'SIGTERM');
    },
    async oracles(sinks, versions = workload.versions()) {
      const all = await s.deliveries();
      const parts: string[] = [];
      for (const k of sinks) {
        const o1 = assertEveryChangeDelivered(versions, all, k);
        const o2 = assertDuplicatesOnlyAfterAck(all, ends, k);
        assertPerKeyOrder(all, k);
        const o4 = await assertTargetEqualsSource(url, table, all, k);
        parts.push(
          `${k}: ${o1.deliveries} deliveries of ${o1.versions} versions, ${o2.duplicates} duplicates, ${o4.rows} rows`,
        );
      }
      const o5 = assertConfirmedNeverAhead(all, ends, sinks);
      return `${parts.join('; ')}; O5 checked ${o5.checkedEvents} event-ends over ${ends.length} runs`;
    },
    async close() {
      for (const c of children) c.kill('SIGKILL');
      await workload.close();
    },
  };
  return s;
}

function spawnChild(cfg: ChildConfig, fault: string | undefined, children: Set<ChildProcess>): RunningChild {
  const path = fileURLToPath(new URL('./children/pipeline.ts', import.meta.url));
  const env = { ...process.env };
  if (fault) env.WALSTREAM_FAULT = fault;
  else delete env.WALSTREAM_FAULT;
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path, JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env,
  });
  children.add(proc);
  let out = '';
  let err = '';
  const waiters: { match: string | RegExp; resolve: () => void }[] = [];
  const test = (m: string | RegExp) => (typeof m === 'string' ? out.includes(m) : m.test(out));
  proc.stdout?.on('data', (d) => {
    out += d;
    for (const w of [...waiters])
      if (test(w.match)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  proc.stderr?.on('data', (d) => {
    if (err.length < 20_000) err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    run: cfg.run,
    stdout: () => out,
    exited,
    waitFor(match, timeoutMs = 60_000) {
      if (test(match)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`child did not print ${match} in ${timeoutMs} ms: ${err.slice(-1500)}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
        void exited.then((e) => {
          clearTimeout(t);
          if (!test(match))
            reject(new Error(`child exited (${e.code ?? e.signal}) before ${match}: ${err.slice(-1500)}`));
        });
      });
    },
  };
}
