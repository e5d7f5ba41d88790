/**
 * walstream as a service: every pipeline of a config file in one process, with HTTP telemetry, a slot lag
 * monitor per pipeline, structured logs and a graceful stop (drain, confirm, close) on SIGTERM, SIGINT or
 * POST /shutdown.
 */
import { createPipeline, type Pipeline, type PipelineStatus } from '@walstream/core';
import type pg from 'pg';
import { type BuiltPipeline, buildPipelines } from '../config/build.js';
import type { LoadedConfig } from '../config/load.js';
import { type HttpConfig, httpSchema, logSchema, type MonitorConfig, monitorSchema } from '../config/schema.js';
import { startTelemetry, type TelemetryServer } from './http.js';
import { createServiceLogger, type ServiceLogger } from './log.js';
import { ServiceMetrics } from './metrics.js';
import { type SlotMonitor, startSlotMonitor } from './slot-monitor.js';

/** Exit codes of `walstream run` (documented in the README). */
export const ExitCode = {
  /** Stopped on request (signal or /shutdown) after draining. */
  Ok: 0,
  /** A pipeline failed while running (see the log for its error code). */
  PipelineFailed: 1,
  /** Bad command line or config file. */
  Usage: 2,
  /** A pipeline could not start (connection, wal_level, slot in use, ...). */
  StartFailed: 3,
} as const;

export interface ServiceOptions {
  /** Override the config's http.port (0 = any free port). */
  port?: number;
  /** Skip the HTTP server. @default false */
  noHttp?: boolean;
  logger?: ServiceLogger;
  /** Called on a TTY every second with the pipelines' status (live line, progress bars). */
  onTick?: (status: readonly PipelineStatus[]) => void;
}

export interface RunningService {
  readonly pipelines: readonly Pipeline[];
  readonly http: TelemetryServer | null;
  readonly logger: ServiceLogger;
  /** Resolves with the exit code once every pipeline has stopped. */
  readonly done: Promise<number>;
  stop(): Promise<number>;
}

const STUCK_MS = 60_000;

export function sourceClientConfig(source: Record<string, unknown>): pg.ClientConfig {
  const conn = (source.connection ?? {}) as pg.ClientConfig;
  return source.connectionString ? { ...conn, connectionString: String(source.connectionString) } : conn;
}

export async function startService(cfg: LoadedConfig, opts: ServiceOptions = {}): Promise<RunningService> {
  const logger = opts.logger ?? createServiceLogger(logSchema.parse(cfg.config.log ?? {}));
  const built = await buildPipelines(cfg, (name) => logger.child({ pipeline: name }));
  return startPipelines(built, { http: cfg.config.http ?? {}, monitor: cfg.config.monitor ?? {} }, { ...opts, logger });
}

/** What `startPipelines` needs besides the pipelines: the config file's `http` and `monitor` sections. */
export interface ServiceSettings {
  http: Partial<HttpConfig>;
  monitor: Partial<MonitorConfig>;
  /** Called once every pipeline has stopped, before the HTTP server closes (e.g. to close a companion). */
  onStopped?: () => Promise<void>;
}

/** Runs already built pipelines as a service (the bridge mode builds its own). */
export async function startPipelines(
  built: readonly BuiltPipeline[],
  settings: ServiceSettings,
  opts: ServiceOptions & { logger: ServiceLogger },
): Promise<RunningService> {
  const logger = opts.logger;
  const http = httpSchema.parse(settings.http);
  if (opts.port !== undefined) http.port = opts.port;
  const monitorCfg = monitorSchema.parse(settings.monitor);
  const metrics = new ServiceMetrics();
  const pipelines: Pipeline[] = [];
  const monitors: SlotMonitor[] = [];
  let stopping: Promise<number> | null = null;
  let failed = false;

  for (const b of built) {
    const sinks = b.options.sinks.map((s) =>
      'write' in s ? metrics.wrapSink(b.section.name, s) : { ...s, sink: metrics.wrapSink(b.section.name, s.sink) },
    );
    const p = createPipeline({ ...b.options, sinks });
    metrics.track(p);
    p.on('error', (e) =>
      logger.error('pipeline error', { pipeline: p.name, code: e.error.code, error: e.error.message }),
    );
    pipelines.push(p);
  }

  let telemetry: TelemetryServer | null = null;
  const status = () => ({
    pipelines: pipelines.map((p) => ({
      ...p.status(),
      slot: monitors[pipelines.indexOf(p)]?.last ?? null,
    })),
  });
  const ready = () => {
    const now = pipelines.map((p) => p.status());
    const problems: string[] = [];
    for (const s of now) {
      if (s.state !== 'running') problems.push(`${s.name}: ${s.state}`);
      for (const k of s.sinks) {
        if (k.state === 'failed') problems.push(`${s.name}/${k.name}: failed`);
        else if ((k.writingForMs ?? 0) > STUCK_MS)
          problems.push(`${s.name}/${k.name}: write pending for ${k.writingForMs} ms`);
      }
    }
    return { ok: problems.length === 0, detail: { problems } };
  };

  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      logger.info('stopping: draining and confirming');
      await Promise.allSettled(pipelines.map((p) => p.stop()));
      await settings
        .onStopped?.()
        .catch((err: unknown) => logger.warn('companion close failed', { error: (err as Error).message }));
      await Promise.allSettled(monitors.map((m) => m.stop()));
      await telemetry?.close();
      const code = failed ? ExitCode.PipelineFailed : ExitCode.Ok;
      logger.info('stopped', { exitCode: code });
      logger.flush();
      return code;
    })();
    return stopping;
  };

  // Start pipelines one by one: a failure stops the ones already running and reports which one failed.
  for (const [i, p] of pipelines.entries()) {
    try {
      await p.start();
    } catch (err) {
      logger.error('pipeline could not start', {
        pipeline: p.name,
        code: (err as { code?: string }).code,
        error: (err as Error).message,
      });
      await Promise.allSettled(pipelines.slice(0, i).map((q) => q.stop()));
      throw Object.assign(err as Error, { exitCode: ExitCode.StartFailed });
    }
    const source = (built[i]?.section.source ?? {}) as Record<string, unknown>;
    monitors.push(
      startSlotMonitor({
        client: sourceClientConfig(source),
        slot: String(source.slot),
        monitor: monitorCfg,
        logger: logger.child({ pipeline: p.name }),
        onReport: (r) => metrics.setSlot(p.name, r),
      }),
    );
    p.done.catch((err: unknown) => {
      failed = true;
      logger.error('pipeline failed', {
        pipeline: p.name,
        code: (err as { code?: string }).code,
        error: (err as Error).message,
      });
      void stop();
    });
  }

  if (!opts.noHttp) {
    telemetry = await startTelemetry(http, {
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
      health: () => ({
        ok: pipelines.every((p) => p.status().state !== 'failed'),
        detail: { pipelines: pipelines.map((p) => ({ name: p.name, state: p.status().state })) },
      }),
      ready,
      status,
      shutdown: () => void stop(),
      snapshot: async (body) => {
        const p = body.pipeline ? pipelines.find((q) => q.name === body.pipeline) : pipelines[0];
        const b = built[p ? pipelines.indexOf(p) : -1];
        if (!p || !b) return { status: 404, body: { error: 'no such pipeline' } };
        const reader = b.options.reader as {
          requestSnapshot?: (t: string[]) => { id: string; accepted?: Promise<void>; done: Promise<unknown> };
        };
        if (typeof reader.requestSnapshot !== 'function')
          return { status: 501, body: { error: 'reader has no on-demand snapshots' } };
        if (!Array.isArray(body.tables) || body.tables.length === 0)
          return { status: 400, body: { error: 'give tables: [...]' } };
        let req: { id: string; accepted?: Promise<void>; done: Promise<unknown> };
        try {
          req = reader.requestSnapshot(body.tables);
          // A table added to the publication since the start is looked up first: an unpublished one is a 400 too.
          await req.accepted;
        } catch (err) {
          return { status: 400, body: { error: (err as Error).message, code: (err as { code?: string }).code } };
        }
        req.done.catch((err: unknown) =>
          logger.warn('snapshot failed', { pipeline: p.name, id: req.id, code: (err as { code?: string }).code }),
        );
        return { status: 202, body: { id: req.id, pipeline: p.name, tables: body.tables } };
      },
    });
    logger.info('http listening', { url: telemetry.url });
  }

  let tick: ReturnType<typeof setInterval> | null = null;
  if (opts.onTick) {
    const cb = opts.onTick;
    tick = setInterval(() => cb(pipelines.map((p) => p.status())), 1000);
    tick.unref();
  }
  const done = Promise.allSettled(pipelines.map((p) => p.done)).then(async () => {
    if (tick) clearInterval(tick);
    return stop();
  });
  return { pipelines, http: telemetry, logger, done, stop };
}
