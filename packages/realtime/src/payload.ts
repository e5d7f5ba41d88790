/**
 * The publishing side: each change becomes, per role, the client payload
 * `{ table, action, record, old_record?, timestamp }` with that role's mask applied, wrapped in an envelope that
 * goes to Redis. Rows are masked on the publishing instance, so Redis only ever holds each role's masked payload,
 * never the raw row (unless a role's policy is `false`).
 */
import { type ChangeEvent, encodeRowJson, type MaskOptions, mask, type Transform } from '@walstream/core';
import type { ProjectResolver, RealtimeRole, RealtimeServerOptions, RoleMaskPolicy } from './options.js';
import { DEFAULTS, ROLES } from './options.js';
import { routableProject, topicTable } from './topics.js';

/** What travels through Redis for one event. `admin` is absent when admins see the same payload as users. */
export interface Envelope {
  readonly id: string;
  readonly project: string | null;
  readonly table: string;
  readonly user: string;
  readonly admin?: string;
}

const ACTIONS = new Set(['INSERT', 'UPDATE', 'DELETE']);
const DEFAULT_MASK: MaskOptions = { strategy: 'redact' };

function isRolePolicy(m: MaskOptions | RoleMaskPolicy): m is RoleMaskPolicy {
  return 'user' in m || 'admin' in m;
}

/** One transform per role; the same function object for roles that share a policy. */
export function roleMasks(option: RealtimeServerOptions['mask']): Record<RealtimeRole, Transform> {
  const identity: Transform = (e) => e;
  if (option === false) return { user: identity, admin: identity };
  // Options given without a strategy keep realtime's default (redact), not core's (partial): adding a column to
  // the list must not start sending e-mail domains and the last digits of phone numbers.
  const withDefault = (o: MaskOptions | undefined) => mask({ ...DEFAULT_MASK, ...o });
  if (option === undefined || !isRolePolicy(option)) {
    const t = withDefault(option);
    return { user: t, admin: t };
  }
  const out = {} as Record<RealtimeRole, Transform>;
  for (const role of ROLES) {
    const o = option[role];
    out[role] = o === false ? identity : withDefault(o);
  }
  return out;
}

export function projectResolver(option: RealtimeServerOptions['projectColumn']): ProjectResolver {
  if (typeof option === 'function') return option;
  const column = option ?? DEFAULTS.projectColumn;
  return (e) => {
    const row = e.after ?? e.before ?? e.key;
    return row === null ? undefined : row[column];
  };
}

function payloadJson(e: ChangeEvent): string {
  let s = `{"table":${JSON.stringify(`${e.schema}.${e.table}`)},"action":"${e.operation}","record":${encodeRowJson(e.after)}`;
  if (e.before !== null) s += `,"old_record":${encodeRowJson(e.before)}`;
  return `${s},"timestamp":${JSON.stringify(e.timestamp)}}`;
}

/**
 * The envelopes of `e`: none for operations clients do not get (READ, TRUNCATE, MESSAGE), two for an UPDATE that
 * moved its row to another project. Routed by the new row alone, that one would hand the new project the old row
 * (the old project's data) and never tell the old project the row left; it goes as a DELETE of the old row to the
 * old project and an INSERT of the new row to the new one. An old row without the project column (only its key,
 * REPLICA IDENTITY DEFAULT) tells nothing of a move: the update goes as it is.
 */
export function toEnvelopes(
  e: ChangeEvent,
  masks: Record<RealtimeRole, Transform>,
  resolveProject: ProjectResolver,
): Envelope[] {
  if (e.operation === 'UPDATE' && e.before !== null) {
    const left: ChangeEvent = { ...e, id: `${e.id}:left`, operation: 'DELETE', after: null };
    const was = resolveProject(left);
    if (was !== undefined && routableProject(was) !== routableProject(resolveProject(e))) {
      const out: Envelope[] = [];
      for (const part of [left, { ...e, operation: 'INSERT', before: null } as ChangeEvent]) {
        const env = toEnvelope(part, masks, resolveProject);
        if (env !== null) out.push(env);
      }
      return out;
    }
  }
  const env = toEnvelope(e, masks, resolveProject);
  return env === null ? [] : [env];
}

/** The envelope of `e`, or null for operations clients do not get (READ, TRUNCATE, MESSAGE). */
export function toEnvelope(
  e: ChangeEvent,
  masks: Record<RealtimeRole, Transform>,
  resolveProject: ProjectResolver,
): Envelope | null {
  if (!ACTIONS.has(e.operation)) return null;
  const project = routableProject(resolveProject(e));
  const user = masks.user(e);
  if (user === null) return null;
  const userJson = payloadJson(user);
  const env: { -readonly [K in keyof Envelope]: Envelope[K] } = {
    id: e.id,
    project,
    table: topicTable(e.schema, e.table),
    user: userJson,
  };
  if (masks.admin !== masks.user) {
    const admin = masks.admin(e);
    if (admin !== null) env.admin = payloadJson(admin);
  }
  return env;
}

/** Parses a Redis message (an array of envelopes); null when it is not one of ours. */
export function parseEnvelopes(message: string): Envelope[] | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  for (const v of value) {
    if (
      typeof v !== 'object' ||
      v === null ||
      typeof v.id !== 'string' ||
      typeof v.table !== 'string' ||
      typeof v.user !== 'string' ||
      (v.project !== null && typeof v.project !== 'string') ||
      (v.admin !== undefined && typeof v.admin !== 'string')
    ) {
      return null;
    }
  }
  return value as Envelope[];
}
