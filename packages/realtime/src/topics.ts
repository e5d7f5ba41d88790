/**
 * The topic hierarchy: `realtime:<project>:<table>`, `realtime:<project>:*` and `realtime:global:<table>`.
 * `<table>` drops the schema when it is `public`. The project segment cannot hold `:`; `global` is reserved
 * for the admin-only cross-project topics, whatever a token's `projects` claim says.
 */

export const GLOBAL = 'global';
const PREFIX = 'realtime:';

export type ParsedTopic =
  | { readonly kind: 'table'; readonly project: string; readonly table: string }
  | { readonly kind: 'project'; readonly project: string }
  | { readonly kind: 'global'; readonly table: string };

/** The `<table>` segment of an event's topic. */
export function topicTable(schema: string, table: string): string {
  return schema === 'public' ? table : `${schema}.${table}`;
}

/** A project id usable in a topic, or null when it cannot be routed (null, empty, `global`, or holds `:`). */
export function routableProject(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const s =
    typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? `${value}` : null;
  if (s === null || s.length === 0 || s === GLOBAL || s.includes(':')) return null;
  return s;
}

/** Parses a client's topic; null when it is not one of the three forms. */
export function parseTopic(topic: unknown): ParsedTopic | null {
  if (typeof topic !== 'string' || topic.length > 512 || !topic.startsWith(PREFIX)) return null;
  const rest = topic.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0) return null;
  const project = rest.slice(0, colon);
  const table = rest.slice(colon + 1);
  if (table.length === 0) return null;
  if (project === GLOBAL) return table === '*' ? null : { kind: 'global', table };
  if (table === '*') return { kind: 'project', project };
  return { kind: 'table', project, table };
}

/** The keys an instance indexes subscriptions by; an event matches the keys of its own table and project. */
export function subscriptionKey(t: ParsedTopic): string {
  if (t.kind === 'global') return `g\u0000${t.table}`;
  if (t.kind === 'project') return `p\u0000${t.project}`;
  return `t\u0000${t.project}\u0000${t.table}`;
}

export function eventKeys(project: string | null, table: string): string[] {
  // Most specific first: a client holding several matching subscriptions gets the table topic's frame first.
  const global = `g\u0000${table}`;
  return project === null ? [global] : [`t\u0000${project}\u0000${table}`, `p\u0000${project}`, global];
}
