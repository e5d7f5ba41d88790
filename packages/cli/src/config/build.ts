/**
 * Turns a validated config into readers, sinks and transforms by calling the packages' own factories, so each
 * option is validated by the schema its package documents. A factory's ConfigError (`nats.servers`) is mapped
 * back to the config file (`pipelines.0.sinks.1.nats.servers`, with its line).
 */
import {
  ConfigError,
  composeTransforms,
  filter,
  type Logger,
  type LogReader,
  mask,
  type PipelineOptions,
  rename,
  type Sink,
  type SinkBinding,
  type Transform,
} from '@walstream/core';
import { createPostgresReader, type PostgresReaderOptions } from '@walstream/reader-postgres';
import type { ConfigPath, LoadedConfig } from './load.js';
import { type PipelineSection, SINK_KINDS, type SinkKind } from './schema.js';

// The config section is handed over as is: each factory validates it with its own zod schema.
type Factory = (options: never) => Sink | Promise<Sink>;

/** Sink packages are imported when a config uses them, so a service with one sink loads one client library. */
const SINK_LOADERS: Record<SinkKind, () => Promise<Factory>> = {
  file: async () => (await import('@walstream/sink-file')).createFileSink as Factory,
  nats: async () => (await import('@walstream/sink-nats')).createNatsSink as Factory,
  kafka: async () => (await import('@walstream/sink-kafka')).createKafkaSink as Factory,
  rabbitmq: async () => (await import('@walstream/sink-rabbitmq')).createRabbitMqSink as Factory,
  webhook: async () => (await import('@walstream/sink-webhook')).createWebhookSink as Factory,
  postgres: () => optionalFactory('@walstream/sink-postgres', 'createPostgresSink'),
  mysql: () => optionalFactory('@walstream/sink-mysql', 'createMySqlSink'),
};

async function optionalFactory(pkg: string, name: string): Promise<Factory> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(pkg, `package ${pkg} is not installed (npm install ${pkg})`, { cause: err });
  }
  return mod[name] as Factory;
}

export interface BuiltPipeline {
  readonly section: PipelineSection;
  readonly options: PipelineOptions;
}

/** Calls `make`; a ConfigError from a package becomes a ConfigFileError at `base` + the error's field. */
async function located<T>(cfg: LoadedConfig, base: ConfigPath, prefix: string, make: () => T | Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (err) {
    if (err instanceof ConfigError) {
      const parts = err.field.split('.');
      const rest = parts[0] === prefix ? parts.slice(1) : parts;
      const problem = err.message.replace(/^invalid option [^:]+: /, '');
      throw cfg.error([...base, ...rest], problem, err);
    }
    throw err;
  }
}

export function sinkKind(entry: Record<string, unknown>): SinkKind {
  return SINK_KINDS.find((k) => entry[k] !== undefined) as SinkKind;
}

async function buildSink(cfg: LoadedConfig, entry: Record<string, unknown>, base: ConfigPath): Promise<Sink> {
  const kind = sinkKind(entry);
  const factory = await located(cfg, [...base, kind], kind, SINK_LOADERS[kind]);
  return located(cfg, [...base, kind], kind, () => factory(entry[kind] as never));
}

function buildTransform(cfg: LoadedConfig, entry: Record<string, unknown>, base: ConfigPath): Promise<Transform> {
  if (entry.filter) return located(cfg, [...base, 'filter'], 'filter', () => filter(entry.filter as never));
  if (entry.mask) return located(cfg, [...base, 'mask'], 'mask', () => mask(entry.mask as never));
  return located(cfg, [...base, 'rename'], 'rename', () => rename(entry.rename as never));
}

/** Builds the reader for one pipeline section (also used by `check`, `status` and `snapshot`). */
export function buildReader(cfg: LoadedConfig, index: number, logger?: Logger): Promise<LogReader> {
  const section = cfg.config.pipelines[index] as PipelineSection;
  const source = { ...section.source, ...(logger ? { logger } : {}) } as unknown as PostgresReaderOptions;
  return located(cfg, ['pipelines', index, 'source'], 'postgres', () => createPostgresReader(source));
}

export async function buildPipelines(
  cfg: LoadedConfig,
  logger: (pipeline: string) => Logger,
): Promise<BuiltPipeline[]> {
  const out: BuiltPipeline[] = [];
  for (const [i, section] of cfg.config.pipelines.entries()) {
    const base = ['pipelines', i] as const;
    const log = logger(section.name);
    const sinks: SinkBinding[] = [];
    for (const [j, entry] of section.sinks.entries()) {
      const sink = await buildSink(cfg, entry as Record<string, unknown>, [...base, 'sinks', j]);
      const deadLetter = entry.deadLetter
        ? await buildSink(cfg, entry.deadLetter as Record<string, unknown>, [...base, 'sinks', j, 'deadLetter'])
        : undefined;
      sinks.push({ sink, ...(deadLetter ? { deadLetter } : {}), ...(entry.retry ? { retry: entry.retry } : {}) });
    }
    const transforms: Transform[] = [];
    for (const [j, entry] of (section.transforms ?? []).entries()) {
      transforms.push(await buildTransform(cfg, entry as Record<string, unknown>, [...base, 'transforms', j]));
    }
    const reader = await buildReader(cfg, i, log);
    out.push({
      section,
      options: {
        name: section.name,
        reader,
        sinks,
        logger: log,
        ...(transforms.length > 0 ? { transform: composeTransforms(...transforms) } : {}),
        ...(section.batch ? { batch: section.batch } : {}),
        ...(section.retry ? { retry: section.retry } : {}),
        ...(section.maxInFlightBytes ? { maxInFlightBytes: section.maxInFlightBytes } : {}),
        ...(section.drainTimeoutMs !== undefined ? { drainTimeoutMs: section.drainTimeoutMs } : {}),
      },
    });
  }
  return out;
}
