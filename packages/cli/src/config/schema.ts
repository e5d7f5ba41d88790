/**
 * The config file's shape. Reader and sink sections are passed to their factories unchanged and validated by
 * those packages' own zod schemas (one source of truth); this schema checks the frame around them.
 */
import { z } from 'zod';

export const SINK_KINDS = ['file', 'nats', 'kafka', 'rabbitmq', 'webhook', 'postgres', 'mysql'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];
export const TRANSFORM_KINDS = ['filter', 'mask', 'rename'] as const;

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const options = z.record(z.string(), z.unknown());

const retry = z
  .object({
    maxAttempts: positiveInt.optional(),
    initialDelayMs: nonNegativeInt.optional(),
    maxDelayMs: nonNegativeInt.optional(),
    multiplier: z.number().min(1).optional(),
  })
  .strict();

/** Exactly one of the sink kinds as a key, e.g. `{ nats: { servers: ... } }`. */
const sinkOnly = z
  .object(
    Object.fromEntries(SINK_KINDS.map((k) => [k, options.optional()])) as Record<
      SinkKind,
      z.ZodOptional<typeof options>
    >,
  )
  .strict()
  .refine((s) => SINK_KINDS.filter((k) => s[k] !== undefined).length === 1, {
    message: `give exactly one sink kind: ${SINK_KINDS.join(', ')}`,
  });

const sinkEntry = z
  .object({
    ...Object.fromEntries(SINK_KINDS.map((k) => [k, options.optional()])),
    retry: retry.optional(),
    deadLetter: sinkOnly.optional(),
  })
  .strict()
  .refine((s) => SINK_KINDS.filter((k) => (s as Record<string, unknown>)[k] !== undefined).length === 1, {
    message: `give exactly one sink kind: ${SINK_KINDS.join(', ')}`,
  });

const transformEntry = z
  .object({ filter: options.optional(), mask: options.optional(), rename: options.optional() })
  .strict()
  .refine((t) => TRANSFORM_KINDS.filter((k) => t[k] !== undefined).length === 1, {
    message: `give exactly one transform: ${TRANSFORM_KINDS.join(', ')}`,
  });

export const pipelineSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it labels metrics)'),
    /** createPostgresReader options. */
    source: options,
    sinks: z.array(sinkEntry).min(1, 'at least one sink'),
    transforms: z.array(transformEntry).optional(),
    batch: z
      .object({
        maxEvents: positiveInt.optional(),
        maxBytes: positiveInt.optional(),
        maxWaitMs: nonNegativeInt.optional(),
      })
      .strict()
      .optional(),
    retry: retry.optional(),
    maxInFlightBytes: positiveInt.optional(),
    drainTimeoutMs: nonNegativeInt.optional(),
  })
  .strict();

export const httpSchema = z
  .object({
    /** @default '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port. @default 9090 */
    port: z.number().int().min(0).max(65535).default(9090),
    /** Bearer token for POST /shutdown; required when host is not a loopback address. */
    shutdownToken: z.string().min(8).optional(),
  })
  .strict();

export const monitorSchema = z
  .object({
    /** @default 30000 */
    intervalMs: positiveInt.default(30_000),
    /** Retained WAL that raises a warning. @default 536870912 (512 MiB) */
    warnBytes: positiveInt.default(512 * 1024 * 1024),
    /** Retained WAL that is critical. @default 1073741824 (1 GiB) */
    criticalBytes: positiveInt.default(1024 * 1024 * 1024),
  })
  .strict();

export const logSchema = z
  .object({
    /** @default 'info' */
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** `auto`: readable lines on a TTY, JSON otherwise. @default 'auto' */
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .strict();

export const configSchema = z
  .object({
    pipelines: z.array(pipelineSchema).min(1, 'at least one pipeline'),
    http: httpSchema.optional(),
    monitor: monitorSchema.optional(),
    log: logSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.pipelines.forEach((p, i) => {
      if (seen.has(p.name))
        ctx.addIssue({ code: 'custom', path: ['pipelines', i, 'name'], message: 'duplicate pipeline name' });
      seen.add(p.name);
    });
  });

export type ServiceConfig = z.infer<typeof configSchema>;
export type PipelineSection = z.infer<typeof pipelineSchema>;
export type SinkSection = z.infer<typeof sinkEntry>;
export type HttpConfig = z.infer<typeof httpSchema>;
export type MonitorConfig = z.infer<typeof monitorSchema>;
export type LogConfig = z.infer<typeof logSchema>;
