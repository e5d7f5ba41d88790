import { ConfigError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { secretBytes, sign, verifyWebhook } from './signature.js';
import { createWebhookSink } from './webhook-sink.js';

// The test vector published with the Standard Webhooks specification and its reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks secrets', () => {
  it('signs the specification test vector, with and without the whsec_ prefix (base64 either way)', () => {
    const bare = VECTOR.secret.slice('whsec_'.length);
    expect(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(sign(bare, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(Buffer.from(secretBytes(bare))).toEqual(Buffer.from(secretBytes(VECTOR.secret)));
    const headers = {
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    };
    for (const s of [VECTOR.secret, bare]) {
      expect(verifyWebhook(VECTOR.body, headers, s, { now: VECTOR.timestamp })).toEqual({ test: 2432232314 });
    }
  });

  it("takes raw key bytes as a Uint8Array (the reference libraries' raw format)", () => {
    const raw = new TextEncoder().encode('plain text key');
    const b64 = Buffer.from(raw).toString('base64');
    expect(sign(raw, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(
      sign(b64, VECTOR.id, VECTOR.timestamp, VECTOR.body),
    );
    expect(() => createWebhookSink({ url: 'http://127.0.0.1:1/x', secret: raw })).not.toThrow();
  });

  it('refuses a secret that is not base64 with a typed error that does not echo it', () => {
    for (const secret of ['not base64 at all!', 'whsec_%%%%', 'whsec_', 'abc']) {
      let err: unknown;
      try {
        createWebhookSink({ url: 'http://127.0.0.1:1/x', secret });
      } catch (e) {
        err = e;
      }
      expect(err, secret).toBeInstanceOf(ConfigError);
      expect(String((err as Error).message)).not.toContain(secret.replace('whsec_', '') || '\u0000');
      expect(() => secretBytes(secret)).toThrow(ConfigError);
    }
  });
});
