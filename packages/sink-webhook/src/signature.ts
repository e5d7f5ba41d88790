/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` is `v1,<base64 HMAC-SHA256(secret,
 * "<webhook-id>.<webhook-timestamp>.<body>")>`, one per secret, space separated (for key rotation).
 * Secrets in `whsec_<base64>` form are base64-decoded; any other string is used as UTF-8 bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, WalstreamError } from '@walstream/core';

export function secretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
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
  secrets: string | readonly string[],
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
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
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
