/**
 * The reconnect loop after a lost replication stream: backoff between attempts, "slot is active" retried until
 * the server must have noticed the old connection is gone, and a stop at every step once the reader is closed.
 */
import { isRetriable, type Logger } from '@walstream/core';
import { backoffDelay, sleep } from '@walstream/core/internal';
import { SlotActiveError } from './errors.js';

export interface ReconnectPlan {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** The server's wal_sender_timeout (0: none): how long its walsender may hold the slot after a network cut. */
  walSenderTimeoutMs: number;
  slot: string;
  log: Logger;
  /** Aborting it ends a backoff wait (the wait rejects with the pipeline's stop error). */
  signal: AbortSignal | undefined;
  closed(): boolean;
  /** One attempt: resets what the lost stream left and makes a new connection. */
  attempt(): Promise<void>;
}

export type ReconnectOutcome = { kind: 'connected' } | { kind: 'closed' } | { kind: 'failed'; error: unknown };

export async function reconnect(lost: Error, plan: ReconnectPlan): Promise<ReconnectOutcome> {
  // After a network cut the server may not know yet that our old connection is gone: its walsender holds the
  // slot until wal_sender_timeout. "Slot is active" is retried until then (plus a margin), not fatal.
  const wst = plan.walSenderTimeoutMs;
  const activeUntil = Date.now() + (wst > 0 ? wst : 60_000) + 10_000;
  const retry = {
    maxAttempts: plan.maxAttempts,
    initialDelayMs: plan.initialDelayMs,
    maxDelayMs: plan.maxDelayMs,
    multiplier: 2,
  };
  let lastError: unknown = lost;
  for (let attempt = 1; ; attempt++) {
    if (plan.closed()) return { kind: 'closed' };
    const slotActive = lastError instanceof SlotActiveError && Date.now() < activeUntil;
    if (attempt > plan.maxAttempts && !slotActive) return { kind: 'failed', error: lastError };
    const delay = backoffDelay(retry, attempt);
    // The latest failure, not the first loss: a reconnect refused for another reason must say so, by the
    // server's SQLSTATE (28P01: the password no longer works) rather than its message.
    const latest = lastError as Error & { code?: string; cause?: { code?: unknown } };
    const sqlState = typeof latest.cause?.code === 'string' ? latest.cause.code : undefined;
    plan.log.warn('replication connection lost, reconnecting', {
      attempt,
      delayMs: delay,
      error: latest.message,
      ...(latest.code ? { code: latest.code } : {}),
      ...(sqlState ? { sqlState } : {}),
    });
    await sleep(delay, plan.signal);
    if (plan.closed()) return { kind: 'closed' }; // closed while waiting: no new connection
    try {
      await plan.attempt();
      return plan.closed() ? { kind: 'closed' } : { kind: 'connected' };
    } catch (e) {
      if (plan.closed()) return { kind: 'closed' }; // the attempt failed after close(): nothing to report or retry
      lastError = e;
      if (e instanceof SlotActiveError && Date.now() < activeUntil) {
        plan.log.warn('replication slot still held by the previous connection, retrying', {
          slot: plan.slot,
          attempt,
        });
        continue;
      }
      if (!isRetriable(e)) return { kind: 'failed', error: e };
    }
  }
}
