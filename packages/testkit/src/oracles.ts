/**
 * The oracles of the fault suite (RELIABILITY.md), as assertions over what recording sinks kept (recording.ts),
 * what the workload committed (workload.ts) and what the slot had confirmed when each process life ended.
 * Each throws an Error naming the first offenders, or returns a small summary for the test's log.
 *
 * - O1 `assertEveryChangeDelivered`: every committed `id:seq` reached the sink at least once.
 * - O2 `assertDuplicatesOnlyAfterAck`: an event delivered again in a later run has a commit LSN at or past what
 *   the slot had confirmed when the previous run ended; no event twice within one run.
 * - O3 `assertPerKeyOrder`: within a run, each key's events arrive in strictly increasing (commit LSN, index).
 * - O4 `assertTargetEqualsSource`: the table rebuilt from the deliveries EXCEPT the source is empty, both ways.
 * - O5 `assertConfirmedNeverAhead`: whatever the slot confirmed at the end of a run, every sink already held
 *   every event below it.
 *
 * ```ts
 * const ends = [{ run: 1, confirmed: await slotConfirmedLsn(url, slot) }];
 * assertEveryChangeDelivered(workload.versions(), deliveries, 'rec');
 * ```
 */
import pg from 'pg';
import type { Delivery } from './recording.js';

/** The slot's confirmed_flush_lsn when run `run` ended (kill, crash or stop). */
export interface RunEnd {
  run: number;
  confirmed: bigint;
}

export function parsePgLsn(text: string): bigint {
  const [hi, lo] = text.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function formatPgLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** confirmed_flush_lsn of `slot` (0 when the slot has none yet); throws when the slot does not exist. */
export async function slotConfirmedLsn(connectionString: string, slot: string): Promise<bigint> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    const r = await c.query<{ l: string | null }>(
      'SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    if (r.rows.length === 0) throw new Error(`slot ${slot} does not exist`);
    const l = (r.rows[0] as { l: string | null }).l;
    return l === null ? 0n : parsePgLsn(l);
  } finally {
    await c.end();
  }
}

const fail = (oracle: string, what: string, offenders: unknown[]) => {
  if (offenders.length > 0) {
    throw new Error(`${oracle}: ${offenders.length} ${what}, e.g. ${JSON.stringify(offenders.slice(0, 5))}`);
  }
};

const version = (d: Delivery) => (d.after ? `${d.after.id}:${d.after.seq}` : '');
const forSink = (all: readonly Delivery[], sink: string) => all.filter((d) => d.sink === sink);

/** O1. Returns how many deliveries the sink saw. */
export function assertEveryChangeDelivered(
  committed: ReadonlySet<string>,
  deliveries: readonly Delivery[],
  sink: string,
): { deliveries: number; versions: number } {
  const mine = forSink(deliveries, sink);
  const seen = new Set(mine.map(version));
  fail(
    'O1',
    `committed changes never delivered to ${sink}`,
    [...committed].filter((v) => !seen.has(v)),
  );
  return { deliveries: mine.length, versions: committed.size };
}

/** O2. Returns the number of re-deliveries (all of them legitimate). */
export function assertDuplicatesOnlyAfterAck(
  deliveries: readonly Delivery[],
  ends: readonly RunEnd[],
  sink: string,
): { duplicates: number } {
  const firstRun = new Map<string, number>();
  const bad: unknown[] = [];
  let duplicates = 0;
  const previous = previousEnds(ends);
  for (const d of forSink(deliveries, sink)) {
    const first = firstRun.get(d.id);
    if (first === undefined) {
      firstRun.set(d.id, d.run);
      continue;
    }
    duplicates++;
    if (first === d.run) {
      bad.push({ id: d.id, run: d.run, why: 'twice in one run' });
      continue;
    }
    const prev = previous(d.run);
    if (prev === undefined) bad.push({ id: d.id, run: d.run, why: 'no recorded end of the previous run' });
    else if (BigInt(d.lsn) < prev.confirmed)
      bad.push({ id: d.id, run: d.run, lsn: formatPgLsn(BigInt(d.lsn)), confirmed: formatPgLsn(prev.confirmed) });
  }
  fail('O2', `duplicates below the confirmed position in ${sink}`, bad);
  return { duplicates };
}

/** The recorded end with the highest run below `run` (memoised: a soak has a million duplicates, not many runs). */
function previousEnds(ends: readonly RunEnd[]): (run: number) => RunEnd | undefined {
  const sorted = [...ends].sort((a, b) => a.run - b.run);
  const memo = new Map<number, RunEnd | undefined>();
  return (run) => {
    if (!memo.has(run)) memo.set(run, sorted.filter((e) => e.run < run).at(-1));
    return memo.get(run);
  };
}

/** O3. */
export function assertPerKeyOrder(deliveries: readonly Delivery[], sink: string): void {
  const last = new Map<string, { lsn: bigint; index: number }>();
  const bad: unknown[] = [];
  for (const d of forSink(deliveries, sink)) {
    const k = `${d.run}|${d.table}|${d.key}`;
    const p = { lsn: BigInt(d.lsn), index: d.index };
    const prev = last.get(k);
    if (prev && !(prev.lsn < p.lsn || (prev.lsn === p.lsn && prev.index < p.index))) {
      bad.push({ key: d.key, run: d.run, id: d.id, after: `${formatPgLsn(prev.lsn)}:${prev.index}` });
    }
    last.set(k, p);
  }
  fail('O3', `out-of-order deliveries of a key in ${sink}`, bad);
}

/**
 * O4: rebuilds `table` from the sink's deliveries (the highest position per key wins; DELETE removes) into a
 * temporary table next to the source, and checks both directions of EXCEPT on `columns`.
 */
export async function assertTargetEqualsSource(
  connectionString: string,
  table: string,
  deliveries: readonly Delivery[],
  sink: string,
  columns: readonly string[] = ['id', 'seq', 'payload', 'sha'],
): Promise<{ rows: number }> {
  const latest = new Map<string, Delivery>();
  for (const d of forSink(deliveries, sink)) {
    if (d.table !== table) continue;
    const prev = latest.get(d.key);
    if (!prev || BigInt(prev.lsn) < BigInt(d.lsn) || (prev.lsn === d.lsn && prev.index < d.index)) latest.set(d.key, d);
  }
  const rows = [...latest.values()].filter((d) => d.op !== 'DELETE' && d.after !== null);
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    const cols = columns.map((n) => `"${n}"`).join(', ');
    await c.query(`CREATE TEMP TABLE o4_target AS SELECT ${cols} FROM "${table}" WITH NO DATA`);
    await c.query(`INSERT INTO o4_target SELECT ${cols} FROM json_populate_recordset(NULL::o4_target, $1::json)`, [
      JSON.stringify(rows.map((d) => d.after)),
    ]);
    const q = async (a: string, b: string) =>
      (await c.query(`SELECT ${cols} FROM ${a} EXCEPT SELECT ${cols} FROM ${b} LIMIT 5`)).rows;
    fail('O4', `rows in the target but not in the source`, await q('o4_target', `"${table}"`));
    fail('O4', `rows in the source but not in the target`, await q(`"${table}"`, 'o4_target'));
  } finally {
    await c.end();
  }
  return { rows: rows.length };
}

/**
 * O5: at every run end, each sink held every event (known from any sink) whose commit LSN is below the slot's.
 * Linear in the deliveries times the runs before an event's first delivery (no per-run copies of the deliveries:
 * that was quadratic and took minutes on a soak's million deliveries).
 */
export function assertConfirmedNeverAhead(
  deliveries: readonly Delivery[],
  ends: readonly RunEnd[],
  sinks: readonly string[],
): { checkedEvents: number } {
  const known = new Map<string, bigint>();
  for (const d of deliveries) known.set(d.id, BigInt(d.lsn));
  // The first run in which each sink held each event.
  const firstHeld = new Map<string, Map<string, number>>(sinks.map((k) => [k, new Map()]));
  for (const d of deliveries) {
    const held = firstHeld.get(d.sink);
    if (held === undefined) continue;
    const f = held.get(d.id);
    if (f === undefined || d.run < f) held.set(d.id, d.run);
  }
  const byRun = [...ends].sort((a, b) => a.run - b.run);
  const bad: unknown[] = [];
  let badCount = 0;
  for (const sink of sinks) {
    const held = firstHeld.get(sink) as Map<string, number>;
    for (const [id, lsn] of known) {
      const first = held.get(id) ?? Number.POSITIVE_INFINITY;
      // Any run that ended before the sink first held the event must not have confirmed past it.
      for (const end of byRun) {
        if (end.run >= first) break;
        if (lsn < end.confirmed) {
          badCount++;
          if (bad.length < 5) bad.push({ sink, run: end.run, id, confirmed: formatPgLsn(end.confirmed) });
        }
      }
    }
  }
  if (badCount > 0) {
    throw new Error(
      `O5: ${badCount} events confirmed to the slot before a sink held them, e.g. ${JSON.stringify(bad)}`,
    );
  }
  const lsns = [...known.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let checked = 0;
  for (const end of ends) checked += countBelow(lsns, end.confirmed);
  return { checkedEvents: checked };
}

/** How many of the sorted `lsns` are below `limit`. */
function countBelow(lsns: readonly bigint[], limit: bigint): number {
  let lo = 0;
  let hi = lsns.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((lsns[mid] as bigint) < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
