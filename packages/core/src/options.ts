import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates `input` with a zod schema; the first problem becomes a ConfigError naming the field as
 * `prefix.path` (e.g. `file.rotateBytes`). Shared by every package so option errors read the same.
 */
export function parseOptions<T>(schema: z.ZodType<T>, input: unknown, prefix = ''): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String).join('.');
  const field = [prefix, path].filter(Boolean).join('.') || 'options';
  const message = issue.code === 'unrecognized_keys' ? `unknown option(s) ${issue.keys.join(', ')}` : issue.message;
  throw new ConfigError(field, message);
}
