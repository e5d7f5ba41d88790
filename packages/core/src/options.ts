import { ConfigError } from './errors.js';
import type { Schema } from './validate.js';

/**
 * Validates `input` with a schema (see `v` in `@walstream/core/internal`); the first problem becomes a ConfigError
 * naming the field as `prefix.path` (e.g. `file.rotateBytes`, `sinks.0`), or `options` when it is about the whole
 * object (unknown options). Shared by every package so option errors read the same.
 */
export function parseOptions<T>(schema: Schema<T>, input: unknown, prefix = ''): T {
  const r = schema.safeParse(input);
  if (r.ok) return r.value;
  const field = [prefix, r.issue.path.join('.')].filter(Boolean).join('.') || 'options';
  throw new ConfigError(field, r.issue.message);
}
