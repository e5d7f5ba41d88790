/**
 * JWT verification with jose. HS256 with `secret`; RS256 or ES256 with `publicKey` (the algorithm follows the key
 * type, so an attacker cannot switch a public-key deployment to HS256). Claims: `projects` (string ids), `role`
 * (`user` | `admin`, default `user`), `exp` (seconds).
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@walstream/core';
import { type JWTHeaderParameters, jwtVerify } from 'jose';
import type { RealtimeAuthOptions, RealtimeRole } from './options.js';
import { DEFAULTS } from './options.js';

export interface Claims {
  readonly projects: ReadonlySet<string>;
  readonly role: RealtimeRole;
  /** Expiry in ms since the epoch; undefined when the token has none (only with requireExp: false). */
  readonly expMs: number | undefined;
}

/** A token that was refused; the message says why in general terms, never echoes the token. */
export class TokenError extends Error {}

export type Verifier = (token: string) => Promise<Claims>;

function publicKeyOf(key: NonNullable<RealtimeAuthOptions['publicKey']>): KeyObject {
  try {
    if (typeof key === 'string') return createPublicKey(key);
    if ('asymmetricKeyType' in key && typeof (key as KeyObject).export === 'function') return key as KeyObject;
    return createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw new ConfigError('auth.publicKey', 'not a PEM (SPKI) public key, KeyObject or public JWK', { cause: err });
  }
}

export function createVerifier(auth: RealtimeAuthOptions): Verifier {
  if (auth === undefined || (auth.secret === undefined && auth.publicKey === undefined)) {
    throw new ConfigError('auth', 'give auth.secret (HS256) or auth.publicKey (RS256, ES256)');
  }
  const keys = new Map<string, KeyObject>();
  if (auth.secret !== undefined) {
    const bytes = typeof auth.secret === 'string' ? Buffer.from(auth.secret) : Buffer.from(auth.secret);
    if (bytes.length < 32) throw new ConfigError('auth.secret', 'an HS256 secret needs at least 32 bytes');
    keys.set('HS256', createSecretKey(bytes));
  }
  if (auth.publicKey !== undefined) {
    const k = publicKeyOf(auth.publicKey);
    if (k.type !== 'public') throw new ConfigError('auth.publicKey', 'expected a public key');
    if (k.asymmetricKeyType === 'rsa') keys.set('RS256', k);
    else if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1') keys.set('ES256', k);
    else throw new ConfigError('auth.publicKey', 'only RSA (RS256) and P-256 (ES256) keys are supported');
  }
  const algorithms = [...keys.keys()];
  const requireExp = auth.requireExp ?? true;
  const options = {
    algorithms,
    clockTolerance: auth.clockToleranceSec ?? DEFAULTS.clockToleranceSec,
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
    ...(requireExp ? { requiredClaims: ['exp'] } : {}),
  };
  const keyFor = (header: JWTHeaderParameters) => {
    const k = keys.get(header.alg);
    if (k === undefined) throw new TokenError('algorithm not accepted');
    return k;
  };
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keyFor, options));
    } catch (err) {
      throw new TokenError(err instanceof TokenError ? err.message : 'invalid or expired token', { cause: err });
    }
    const projects = payload.projects ?? [];
    if (!Array.isArray(projects) || !projects.every((p) => typeof p === 'string')) {
      throw new TokenError('claim `projects` must be an array of strings');
    }
    const role = payload.role ?? 'user';
    if (role !== 'user' && role !== 'admin') throw new TokenError('claim `role` must be user or admin');
    const exp = payload.exp;
    return { projects: new Set(projects as string[]), role, expMs: typeof exp === 'number' ? exp * 1000 : undefined };
  };
}
