import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { ChangeEvent, Logger, MaskOptions } from '@walstream/core';

/** A client's role, from the JWT's `role` claim (absent means `user`). */
export type RealtimeRole = 'user' | 'admin';
export const ROLES: readonly RealtimeRole[] = ['user', 'admin'];

export interface RealtimeAuthOptions {
  /** HS256 shared secret (at least 32 bytes). Give `secret`, `publicKey` or both. @default none */
  secret?: string | Uint8Array;
  /** RS256 or ES256 (P-256) public key: PEM (SPKI), a node KeyObject, or a public JWK. @default none */
  publicKey?: string | KeyObject | JsonWebKey;
  /** Required `iss` claim. @default undefined (not checked) */
  issuer?: string;
  /** Required `aud` claim. @default undefined (not checked) */
  audience?: string;
  /** Seconds of clock skew allowed on `exp` and `nbf`. @default 5 */
  clockToleranceSec?: number;
  /** Refuse tokens without `exp`: a session without expiry could never be revoked. @default true */
  requireExp?: boolean;
}

/** Maps an event to its project id; null or undefined routes it to the global topics only. */
export type ProjectResolver = (event: ChangeEvent) => unknown;

/** Mask options per role; `false` sends that role the rows unmasked. */
export type RoleMaskPolicy = { readonly [R in RealtimeRole]?: MaskOptions | false };

export interface RealtimeServerOptions {
  /** Port to listen on (0 = a free one, see `server.port`). Give `port` or `server`. @default none */
  port?: number;
  /** Interface to listen on with `port`. @default undefined (all interfaces) */
  host?: string;
  /** An HTTP server of yours to attach to: upgrades on `path` are handled, others left alone. @default none */
  server?: Server;
  /** URL path of the WebSocket endpoint. @default '/realtime' */
  path?: string;
  /** Redis URL, shared by every instance of the mesh, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Prefix of the Redis channels (one mesh per prefix). @default '' */
  channelPrefix?: string;
  auth: RealtimeAuthOptions;
  /** Column holding an event's project id (read from the new row, else the old row, else the key), or a function. @default 'project_id' */
  projectColumn?: string | ProjectResolver;
  /**
   * Core's PII mask, applied before a row leaves the publishing instance: one MaskOptions for every role, or one per
   * role (`{ user: {...}, admin: false }`). A role left out of a per-role policy gets the default.
   * @default { strategy: 'redact' } for every role (core's DEFAULT_MASK_COLUMNS)
   */
  mask?: MaskOptions | RoleMaskPolicy | false;
  /** Connections accepted at once; more get HTTP 503. @default 10_000 */
  maxConnections?: number;
  /** Subscriptions one connection may hold. @default 100 */
  maxSubscriptionsPerClient?: number;
  /** A client whose unsent bytes exceed this is dropped with close code 4002 (slow client). @default 4 MiB */
  maxBufferedBytes?: number;
  /** Largest frame a client may send. @default 65_536 */
  maxMessageBytes?: number;
  /** Ping interval; a peer that has not answered the previous ping is terminated. @default 30_000 */
  pingIntervalMs?: number;
  /** Recent event ids remembered per instance so a republished event (a retried write) is not sent twice (a retried batch is at most the pipeline's batch size). @default 10_000 */
  dedupWindow?: number;
  /** Name of `server.sink`. @default 'realtime' */
  name?: string;
  /** @default silentLogger */
  logger?: Logger;
}

export const DEFAULTS = {
  path: '/realtime',
  channelPrefix: '',
  projectColumn: 'project_id',
  maxConnections: 10_000,
  maxSubscriptionsPerClient: 100,
  maxBufferedBytes: 4 << 20,
  maxMessageBytes: 65_536,
  pingIntervalMs: 30_000,
  dedupWindow: 10_000,
  clockToleranceSec: 5,
} as const;

/** Close codes the server uses; the browser client reconnects on all but `TokenExpired` and `Unauthorized`. */
export const CloseCode = {
  /** The server is shutting down. */
  GoingAway: 1001,
  /** The token expired and no refresh came in time. */
  TokenExpired: 4001,
  /** The client's send buffer exceeded `maxBufferedBytes`. */
  SlowClient: 4002,
  /** The client stopped answering pings. */
  DeadPeer: 4003,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** `code` of an error frame. */
export const FrameErrorCode = {
  InvalidMessage: 'invalid_message',
  InvalidTopic: 'invalid_topic',
  InvalidFilter: 'invalid_filter',
  Forbidden: 'forbidden',
  TooManySubscriptions: 'too_many_subscriptions',
  InvalidToken: 'invalid_token',
  NotSubscribed: 'not_subscribed',
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

/** Counters of one instance, for tests and dashboards. */
export interface RealtimeStats {
  /** Open client connections. */
  connections: number;
  /** Subscriptions held by those connections. */
  subscriptions: number;
  /** Events this instance's sink published to Redis. */
  published: number;
  /** Event frames sent to clients. */
  delivered: number;
  /** Events received from Redis a second time (a retried publish) and not sent again. */
  duplicatesSkipped: number;
  /** Clients dropped for a send buffer over `maxBufferedBytes`. */
  slowClientsDropped: number;
}
