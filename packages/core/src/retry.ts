import { ErrorCode, WalstreamError } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 10 */
  maxAttempts?: number;
  /** Delay before the second attempt. @default 100 */
  initialDelayMs?: number;
  /** Upper bound of one delay. @default 30000 */
  maxDelayMs?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetry = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 30_000, multiplier: 2 };

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries from many
 * pipelines spread out while each still waits at least half the nominal delay.
 * `attempt` is the number of the attempt that just failed, from 1.
 */
export function backoffDelay(r: ResolvedRetry, attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(r.maxDelayMs, r.initialDelayMs * r.multiplier ** (attempt - 1));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

/** Resolves after `ms`, or rejects with a STOPPED error as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(stoppedError());
    const onAbort = () => {
      clearTimeout(t);
      reject(stoppedError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function stoppedError(): WalstreamError {
  return new WalstreamError(ErrorCode.Stopped, 'operation aborted: the pipeline is stopping');
}
