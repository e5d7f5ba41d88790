/**
 * POSTs events to an HTTP endpoint with Standard Webhooks headers. In `batch` mode a request holds one source
 * transaction, or a fixed slice of a large one (event indexes `k*N .. k*N+N-1`), and its webhook-id names its first
 * and last event: what a request holds, and so its id, follows the source, not how the pipeline grouped transactions
 * into batches. The pipeline ends a batch inside a source transaction only at fixed event indexes (see core's
 * batcher), so a restart re-sends the same requests under the same ids; only a stop or the memory guard cutting inside
 * a slice sends it as two requests, each named after what it holds (a duplicate for the receiver, never a loss). Requests go one at a time, in order. 2xx is success; 408, 425, 429 and 5xx are
 * retriable (Retry-After honoured); other 4xx are permanent (the pipeline then stops, or hands the batch to a
 * dead-letter sink).
 */
import {
  type Batch,
  type ChangeEvent,
  ErrorCode,
  encodeEventJson,
  parseOptions,
  type Sink,
  SinkError,
  WalstreamError,
} from '@walstream/core';
import { v } from '@walstream/core/internal';
import { secretProblem, signatureHeader, type WebhookSecret } from './signature.js';
import { requestsOf } from './transactions.js';

export interface WebhookSinkOptions {
  /** http(s) URL receiving the POSTs. */
  url: string;
  /**
   * Signing secret(s): `whsec_<base64>` or bare base64 (read as the Standard Webhooks libraries read it), or the raw
   * key bytes as a Uint8Array; several sign with each (key rotation).
   */
  secret: WebhookSecret | WebhookSecret[];
  /**
   * `batch`: one request per source transaction (large ones split every `maxEventsPerRequest` events), body
   * `{"id","events":[...]}`; `event`: one request per event, body = the event. @default 'batch'
   */
  mode?: 'batch' | 'event';
  /** Batch mode: a transaction with more events is split into requests of events `k*N .. k*N+N-1` by index. @default 500 */
  maxEventsPerRequest?: number;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. authorization). @default {} */
  headers?: Record<string, string>;
  /** @default `webhook:<host>` */
  name?: string;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const secret = v.union([v.string(), v.instanceof(Uint8Array)]).superRefine((s, ctx) => {
  const problem = secretProblem(s);
  if (problem !== null) ctx.addIssue({ message: problem });
});

const schema = v.object({
  url: v
    .string()
    .url()
    .refine((u) => /^https?:/.test(u), 'must be http or https')
    // fetch refuses every request to such a URL (retried until the pipeline gives up): refused here instead.
    .refine((u) => {
      const p = URL.canParse(u) ? new URL(u) : null;
      return p === null || (p.username === '' && p.password === '');
    }, 'must not include credentials (user:password@); send them with `headers`, e.g. Authorization'),
  secret: v.union([secret, v.array(secret).min(1)]),
  mode: v.enum(['batch', 'event']).optional(),
  maxEventsPerRequest: v.number().int().positive().optional(),
  timeoutMs: v.number().int().positive().optional(),
  headers: v.record(v.string()).optional(),
  name: v.string().min(1).optional(),
  fetch: v.custom<typeof fetch>((x) => typeof x === 'function').optional(),
});

const RETRIABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function createWebhookSink(options: WebhookSinkOptions): Sink {
  const o = parseOptions(schema, options, 'webhook');
  const secrets: WebhookSecret[] = Array.isArray(o.secret) ? o.secret : [o.secret as WebhookSecret];
  const mode = o.mode ?? 'batch';
  const perRequest = o.maxEventsPerRequest ?? 500;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const doFetch = o.fetch ?? globalThis.fetch;
  const host = new URL(o.url).host;
  const name = o.name ?? `webhook:${host}`;
  let closed = false;
  /** Requests accepted during a write that then failed: its retry does not send them again. */
  const accepted = new Set<string>();

  async function post(id: string, body: string, signal: AbortSignal): Promise<void> {
    const timestamp = Math.floor(Date.now() / 1000);
    let res: Response;
    try {
      res = await doFetch(o.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headers: {
          ...o.headers,
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(secrets, id, timestamp, body),
        },
        body,
      });
    } catch (err) {
      // Network failures and timeouts; the message names the host, never the body.
      throw new SinkError(`POST to ${host} failed: ${(err as Error).name}`, { retriable: true, cause: err });
    }
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return;
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    throw new SinkError(`POST to ${host} answered ${res.status}`, {
      retriable: RETRIABLE.has(res.status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  async function send(id: string, body: () => string, signal: AbortSignal): Promise<void> {
    if (accepted.has(id)) return;
    await post(id, body(), signal);
    accepted.add(id);
  }

  return {
    name,
    async write(batch: Batch, { signal }) {
      if (closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${name} is closed`);
      if (mode === 'event') {
        for (const e of batch.events) await send(e.id, () => encodeEventJson(e), signal);
        accepted.clear();
        return;
      }
      for (const r of requestsOf(batch.events, perRequest)) {
        const id = batchId(r);
        await send(id, () => `{"id":${JSON.stringify(id)},"events":[${r.map(encodeEventJson).join(',')}]}`, signal);
      }
      accepted.clear();
    },
    async close() {
      closed = true;
      accepted.clear();
    },
  };
}

/** Stable for the same events: first and last event id. */
export function batchId(events: readonly ChangeEvent[]): string {
  const first = events[0] as ChangeEvent;
  const last = events[events.length - 1] as ChangeEvent;
  return first === last ? first.id : `${first.id}..${last.id}`;
}

/** Retry-After in seconds or as an HTTP date. */
export function parseRetryAfter(v: string | null): number | undefined {
  if (v === null) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}
