/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` is `v1,<base64 HMAC-SHA256(secret,
 * "<webhook-id>.<webhook-timestamp>.<body>")>`, one per secret, space separated (for key rotation).
 * A secret string is base64, with or without the `whsec_` prefix, as the reference libraries read it; raw key bytes
 * come as a Uint8Array (their `format: "raw"`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError, ErrorCode, WalstreamError } from '@walstream/core';

/** A signing secret: `whsec_<base64>`, bare base64, or the raw key bytes. */
export type WebhookSecret = string | Uint8Array;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why a secret string is unusable, or null. Never includes the secret. */
export function secretProblem(secret: WebhookSecret): string | null {
  if (typeof secret !== 'string') return secret.length === 0 ? 'is empty' : null;
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (b64 === '') return 'is empty';
  if (!BASE64.test(b64)) {
    return 'must be base64 (optionally prefixed whsec_), as Standard Webhooks libraries read it; pass raw key bytes as a Uint8Array';
  }
  return null;
}

/** The key bytes of a secret. Throws ConfigError for a string that is not (whsec_-prefixed) base64. */
export function secretBytes(secret: WebhookSecret): Buffer {
  const problem = secretProblem(secret);
  if (problem !== null) throw new ConfigError('webhook.secret', problem);
  if (typeof secret !== 'string') return Buffer.from(secret);
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function sign(secret: WebhookSecret, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function signatureHeader(
  secrets: readonly WebhookSecret[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets.map((s) => sign(s, id, timestamp, body)).join(' ');
}

export class WebhookVerificationError extends WalstreamError {
  constructor(message: string) {
    super(ErrorCode.Codec, `webhook verification failed: ${message}`);
  }
}

export interface VerifyOptions {
  /** Reject timestamps further than this from now (replay protection). @default 300 */
  toleranceSeconds?: number;
  /** For tests: the current time in seconds. */
  now?: number;
}

/**
 * For receivers: checks a request's Standard Webhooks headers against any of `secrets` and returns the parsed
 * body. Throws WebhookVerificationError (without echoing the body) when it does not verify.
 */
export function verifyWebhook(
  body: string,
  headers: Record<string, string | string[] | undefined> | Headers,
  secrets: WebhookSecret | readonly WebhookSecret[],
  options: VerifyOptions = {},
): unknown {
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = get('webhook-id');
  const ts = get('webhook-timestamp');
  const sig = get('webhook-signature');
  if (!id || !ts || !sig)
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  const timestamp = Number(ts);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) {
    throw new WebhookVerificationError('timestamp outside the tolerance');
  }
  const offered = sig.split(' ').map((s) => s.trim());
  const list: readonly WebhookSecret[] =
    typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : (secrets as readonly WebhookSecret[]);
  for (const secret of list) {
    const expected = Buffer.from(sign(secret, id, timestamp, body));
    for (const o of offered) {
      const got = Buffer.from(o);
      if (got.length === expected.length && timingSafeEqual(got, expected)) {
        try {
          return JSON.parse(body);
        } catch {
          throw new WebhookVerificationError('body is not JSON');
        }
      }
    }
  }
  throw new WebhookVerificationError('no signature matches');
}
