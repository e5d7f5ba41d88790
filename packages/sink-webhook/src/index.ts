/**
 * @walstream/sink-webhook: HTTP POST with Standard Webhooks signatures; `verifyWebhook` for receivers.
 *
 * ```ts
 * import { createWebhookSink, verifyWebhook } from '@walstream/sink-webhook';
 * const sink = createWebhookSink({ url: 'https://example.test/hook', secret: 'whsec_...' });
 * // receiver: const payload = verifyWebhook(rawBody, req.headers, 'whsec_...');
 * ```
 */

export type { VerifyOptions, WebhookSecret } from './signature.js';
export { secretBytes, sign, signatureHeader, verifyWebhook, WebhookVerificationError } from './signature.js';
export type { WebhookSinkOptions } from './webhook-sink.js';
export { batchId, createWebhookSink, parseRetryAfter } from './webhook-sink.js';
