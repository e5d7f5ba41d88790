/**
 * Loads pg before anything in this package imports it (index.ts imports this module first), without pg's
 * Cloudflare probe: see loadPgQuietly in @walstream/core/internal.
 */
import { createRequire } from 'node:module';
import { loadPgQuietly } from '@walstream/core/internal';

loadPgQuietly(() => createRequire(import.meta.url)('pg'));
