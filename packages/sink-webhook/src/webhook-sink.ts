/**
 * POSTs events (one per request, or a batch per request) to an HTTP endpoint with Standard Webhooks headers.
 * The webhook-id is derived from the event ids, so every retry of the same batch carries the same id.
 * Requests go one at a time, in order. 2xx is success; 408, 429 and 5xx are retriable (Retry-After honoured);
 * other 4xx are permanent (the pipeline then stops, or hands the batch to a dead-letter sink).
 */
import { type Batch, type ChangeEvent, encodeEventJson, parseOptions, type Sink, SinkError } from '@walstream/core';
import { z } from 'zod';
import { signatureHeader } from './signature.js';

export interface WebhookSinkOptions {
  /** http(s) URL receiving the POSTs. */
  url: string;
  /** Signing secret(s), `whsec_<base64>` or plain text; several sign with each (key rotation). */
  secret: string | string[];
  /** `batch`: one request per batch, body `{"id","events":[...]}`; `event`: one request per event. @default 'batch' */
  mode?: 'batch' | 'event';
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. authorization). @default {} */
  headers?: Record<string, string>;
  /** @default `webhook:<host>` */
  name?: string;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const schema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:/.test(u), 'must be http or https'),
    secret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    mode: z.enum(['batch', 'event']).optional(),
    timeoutMs: z.number().int().positive().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    name: z.string().min(1).optional(),
    fetch: z.custom<typeof fetch>((v) => typeof v === 'function').optional(),
  })
  .strict();

const RETRIABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function createWebhookSink(options: WebhookSinkOptions): Sink {
  const o = parseOptions(schema, options, 'webhook');
  const secrets = typeof o.secret === 'string' ? [o.secret] : o.secret;
  const mode = o.mode ?? 'batch';
  const timeoutMs = o.timeoutMs ?? 10_000;
  const doFetch = o.fetch ?? globalThis.fetch;
  const host = new URL(o.url).host;
  const name = o.name ?? `webhook:${host}`;

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

  return {
    name,
    async write(batch: Batch, { signal }) {
      if (batch.events.length === 0) return;
      if (mode === 'event') {
        for (const e of batch.events) await post(e.id, encodeEventJson(e), signal);
        return;
      }
      const id = batchId(batch.events);
      await post(id, `{"id":${JSON.stringify(id)},"events":[${batch.events.map(encodeEventJson).join(',')}]}`, signal);
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
