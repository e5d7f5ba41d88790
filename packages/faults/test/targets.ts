/**
 * Real destinations for the fault scenarios, beside the recording sinks (test/children/sinks.ts builds their sinks
 * in the child): a JetStream stream on the machine's NATS, a table applied by sink-postgres or sink-mysql, a queue
 * on the machine's RabbitMQ. Each target is fresh for one test, gives the spec the child needs (`spec`), notes what
 * it held at every run end (`observe`, passed to `scenario.onRunEnd`) and checks itself (`check`) with the oracles:
 *
 * - NATS and RabbitMQ: what the stream or queue holds, decoded into Deliveries (one "run": the order they hold),
 *   goes through O1, O3 and O4 of the test kit; the stream must hold no Msg-Id twice (the server drops replays
 *   within its duplicate window), the queue's repeats are counted (RabbitMQ does not deduplicate; consumers drop
 *   them by message_id) and left out.
 * - SQL: the target table equals the source row for row, and its checkpoint row is at the last applied position.
 *   The table has a trigger that fails any update not raising `seq` (every write of the workload raises it), so a
 *   change applied twice stops the pipeline: exactly once, not only equal in the end.
 * - All: O5, at each run end every event below the slot's confirmed position was in the target
 *   (`assertTargetHeldConfirmed`).
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { decodeEventJson } from '@walstream/core';
import {
  assertEveryChangeDelivered,
  assertPerKeyOrder,
  assertTargetEqualsSource,
  type Delivery,
  formatPgLsn,
  parsePgLsn,
  type RunEnd,
  sql,
  toDelivery,
} from '@walstream/testkit';
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { freshDatabase, type TargetSpec } from './harness.js';

/** What a target held when a run ended. */
interface Held extends RunEnd {
  holds(d: Delivery): boolean;
}

/** What a target is checked against. */
export interface Source {
  /** The source database (holding the workload's table). */
  url: string;
  /** Every committed version `id:seq`. */
  versions: ReadonlySet<string>;
  /** Every recording sink's deliveries: the events and their positions. */
  deliveries: readonly Delivery[];
}

export interface Target {
  readonly spec: TargetSpec;
  /** Notes what the target holds now; for `scenario.onRunEnd`. */
  observe(end: RunEnd): Promise<void>;
  /** True once the target holds every committed version (a catch-up's `until`). */
  holdsAll(source: Omit<Source, 'deliveries'>): Promise<boolean>;
  /** The target's checks (see the file comment); returns a one-line summary. */
  check(source: Source): Promise<string>;
  close(): Promise<void>;
}

/** The tests' workload table (testkit workload.ts). */
const TABLE = 'w';
const tag = () => randomBytes(4).toString('hex');
const version = (d: Delivery) => (d.after ? `${d.after.id}:${d.after.seq}` : '');

/**
 * O5 for a target: at every recorded run end, each event (known from the recording sinks) whose commit LSN is below
 * the slot's confirmed position was in the target. Names event ids and runs, never values.
 */
export function assertTargetHeldConfirmed(
  target: string,
  deliveries: readonly Delivery[],
  ends: readonly Held[],
): { checkedEvents: number } {
  const events = new Map(deliveries.map((d) => [d.id, d]));
  const bad: unknown[] = [];
  let badCount = 0;
  let checked = 0;
  for (const end of ends) {
    for (const d of events.values()) {
      if (BigInt(d.lsn) >= end.confirmed) continue;
      checked++;
      if (end.holds(d)) continue;
      badCount++;
      if (bad.length < 5) bad.push({ run: end.run, id: d.id, confirmed: formatPgLsn(end.confirmed) });
    }
  }
  if (badCount > 0) {
    throw new Error(
      `O5: ${badCount} events confirmed to the slot before ${target} held them, e.g. ${JSON.stringify(bad)}`,
    );
  }
  return { checkedEvents: checked };
}

/** Every committed version is among these deliveries' rows. */
const holdsEvery = (versions: ReadonlySet<string>, ds: readonly Delivery[]) => {
  const seen = new Set(ds.map(version));
  for (const v of versions) if (!seen.has(v)) return false;
  return true;
};

// ---------------------------------------------------------------------------------------------------------------
// NATS JetStream

const NATS = '127.0.0.1:4222';

/**
 * A FILE stream of its own on the machine's NATS (a unique stream name and subject), made here with the sink's
 * default duplicate window (2 minutes, longer than a test): the sink only verifies it.
 */
export async function natsTarget(name = 'nats', connectionUrl = NATS): Promise<Target> {
  const t = tag();
  const stream = `FAULTS_${t}`;
  const nc: NatsConnection = await connect({ servers: connectionUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [`faults.${t}.>`],
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
  const held: { msgId: string; d: Delivery }[] = [];
  const ends: Held[] = [];
  let nextSeq = 1;
  // Reads the messages stored since the last call, in stream order.
  const read = async () => {
    const { state } = await jsm.streams.info(stream);
    for (let seq = Math.max(nextSeq, state.first_seq); seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m === null) continue;
      const e = decodeEventJson(Buffer.from(m.data).toString('utf8'));
      held.push({ msgId: m.header?.get('Nats-Msg-Id') ?? '', d: toDelivery(e, name, 1) });
    }
    nextSeq = Math.max(nextSeq, state.last_seq + 1);
    return held;
  };
  return {
    spec: { kind: 'nats', name, servers: connectionUrl, stream, subject: `faults.${t}.{table}` },
    async observe(end) {
      const ids = new Set((await read()).map((m) => m.d.id));
      ends.push({ ...end, holds: (d) => ids.has(d.id) });
    },
    async holdsAll({ versions }) {
      return holdsEvery(
        versions,
        (await read()).map((m) => m.d),
      );
    },
    async check({ url, versions, deliveries }) {
      const msgs = await read();
      const ds = msgs.map((m) => m.d);
      // O5 first: a confirmation ahead of the stream is the cause of an event missing at the end (O1).
      const o5 = assertTargetHeldConfirmed(name, deliveries, ends);
      // The Msg-Id is `<source id>:<event id>`: the stream's own deduplication key names the event it holds.
      const wrongIds = msgs.filter((m) => !m.msgId.endsWith(`:${m.d.id}`)).map((m) => m.d.id);
      if (wrongIds.length > 0) throw new Error(`${name}: Msg-Id does not name its event for ${wrongIds.slice(0, 5)}`);
      const counts = new Map<string, number>();
      for (const m of msgs) counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      // Every replay came within the duplicate window: the server must have dropped each one.
      if (twice.length > 0)
        throw new Error(`${name}: ${twice.length} Msg-Ids stored more than once, e.g. ${twice.slice(0, 5)}`);
      assertEveryChangeDelivered(versions, ds, name);
      assertPerKeyOrder(ds, name);
      const o4 = await assertTargetEqualsSource(url, TABLE, ds, name);
      return `${name}: ${msgs.length} messages, ${counts.size} Msg-Ids, ${o4.rows} rows, O5 checked ${o5.checkedEvents}`;
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SQL targets

interface SqlDb {
  /** Rows of the workload table as `id seq sha payload`, ordered by id. */
  rows(): Promise<string[]>;
  checkpoint(sink: string): Promise<string | null>;
  close(): Promise<void>;
}

const rowText = (r: { id: unknown; seq: unknown; payload: unknown; sha: unknown }) =>
  `${r.id} ${r.seq} ${r.sha} ${r.payload}`;

/** A fresh database on the cluster of `adminUrl` (the scenario's, or another one) with the workload's table. */
export async function postgresTarget(adminUrl: string, name = 'pg'): Promise<SqlTarget> {
  const url = await freshDatabase(adminUrl, 'tgt');
  await sql(
    url,
    `CREATE TABLE ${TABLE} (id int PRIMARY KEY, seq int NOT NULL, payload text NOT NULL, sha text NOT NULL)`,
  );
  await sql(
    url,
    `CREATE FUNCTION seq_rises() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       IF NEW.seq <= OLD.seq THEN RAISE EXCEPTION 'seq did not rise: a change applied twice'; END IF; RETURN NEW; END $$`,
  );
  await sql(url, `CREATE TRIGGER seq_rises BEFORE UPDATE ON ${TABLE} FOR EACH ROW EXECUTE FUNCTION seq_rises()`);
  return sqlTarget(
    { kind: 'postgres', name, url },
    {
      async rows() {
        return (await sql(url, `SELECT id, seq, payload, sha FROM ${TABLE} ORDER BY id`)).rows.map(rowText);
      },
      async checkpoint(sink) {
        const r = await sql(url, `SELECT position FROM walstream_checkpoints WHERE pipeline = 'faults' AND sink = $1`, [
          sink,
        ]).catch((err: { code?: string }) => {
          // The sink creates its checkpoint table when it first opens.
          if (err.code === '42P01') return { rows: [] };
          throw err;
        });
        return (r.rows[0] as { position: string } | undefined)?.position ?? null;
      },
      async close() {},
    },
  );
}

export const MYSQL_ROOT = process.env.WALSTREAM_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A fresh database on the machine's MariaDB with the workload's table; dropped by close(). */
export async function mysqlTarget(name = 'mysql'): Promise<SqlTarget> {
  const db = `faults_${tag()}`;
  const admin = await mysql.createConnection({ uri: MYSQL_ROOT });
  await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  const base = new URL(MYSQL_ROOT);
  base.pathname = `/${db}`;
  const url = base.toString();
  const conn = await mysql.createConnection({ uri: url });
  await conn.query(
    `CREATE TABLE ${TABLE} (id INT PRIMARY KEY, seq INT NOT NULL, payload TEXT NOT NULL, sha TEXT NOT NULL) ENGINE=InnoDB`,
  );
  await conn.query(`CREATE TRIGGER seq_rises BEFORE UPDATE ON ${TABLE} FOR EACH ROW
    IF NEW.seq <= OLD.seq THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'seq did not rise: a change applied twice'; END IF`);
  return sqlTarget(
    { kind: 'mysql', name, url },
    {
      async rows() {
        const [rows] = await conn.query(`SELECT id, seq, payload, sha FROM ${TABLE} ORDER BY id`);
        return (rows as { id: number; seq: number; payload: string; sha: string }[]).map(rowText);
      },
      async checkpoint(sink) {
        try {
          const [rows] = await conn.query(
            `SELECT position FROM walstream_checkpoints WHERE pipeline = 'faults' AND sink = ?`,
            [sink],
          );
          return (rows as { position: string }[])[0]?.position ?? null;
        } catch (err) {
          if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return null;
          throw err;
        }
      },
      async close() {
        await conn.end().catch(() => {});
        await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
        await admin.end();
      },
    },
  );
}

export const positionOf = (id: string) => {
  const [lsn, index] = id.split(':') as [string, string];
  return { lsn: parsePgLsn(lsn), index: Number(index) };
};
export const atOrBefore = (d: Delivery, p: { lsn: bigint; index: number }) =>
  BigInt(d.lsn) < p.lsn || (BigInt(d.lsn) === p.lsn && d.index <= p.index);

export interface SqlTarget extends Target {
  /** The position in the target's checkpoint row for this sink (null before its first commit). */
  checkpoint(): Promise<string | null>;
}

function sqlTarget(spec: TargetSpec & { kind: 'postgres' | 'mysql' }, db: SqlDb): SqlTarget {
  const ends: Held[] = [];
  const sourceRows = async (url: string) =>
    (await sql(url, `SELECT id, seq, payload, sha FROM ${TABLE} ORDER BY id`)).rows.map(rowText);
  return {
    spec,
    checkpoint: () => db.checkpoint(spec.name),
    async observe(end) {
      const cp = await db.checkpoint(spec.name);
      const p = cp === null ? null : positionOf(cp);
      ends.push({ ...end, holds: (d) => p !== null && atOrBefore(d, p) });
    },
    async holdsAll({ url }) {
      return JSON.stringify(await db.rows()) === JSON.stringify(await sourceRows(url));
    },
    async check({ url, deliveries }) {
      // O5 first: a confirmation ahead of the target is the cause of rows missing at the end.
      const o5 = assertTargetHeldConfirmed(spec.name, deliveries, ends);
      // Row for row, named by key only (the first differences), never by value.
      const want = await sourceRows(url);
      const got = await db.rows();
      const wantSet = new Set(want);
      const gotSet = new Set(got);
      const key = (r: string) => r.slice(0, r.indexOf(' '));
      const missing = want.filter((r) => !gotSet.has(r)).map(key);
      const extra = got.filter((r) => !wantSet.has(r)).map(key);
      if (missing.length + extra.length > 0 || got.length !== want.length) {
        throw new Error(
          `${spec.name}: target differs from the source: ${got.length} rows for ${want.length}; keys missing or ` +
            `different ${JSON.stringify(missing.slice(0, 5))}, extra or different ${JSON.stringify(extra.slice(0, 5))}`,
        );
      }
      // The checkpoint row is at the last source commit, the position of its last event.
      let last: Delivery | undefined;
      for (const d of deliveries) if (last === undefined || !atOrBefore(d, positionOf(last.id))) last = d;
      const cp = await db.checkpoint(spec.name);
      if (cp !== last?.id) throw new Error(`${spec.name}: checkpoint at ${cp}, the last source change is ${last?.id}`);
      return `${spec.name}: ${got.length} rows equal to the source, checkpoint ${cp}, O5 checked ${o5.checkedEvents}`;
    },
    close: () => db.close(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// RabbitMQ

export const RABBITMQ = 'amqp://guest:guest@127.0.0.1:5672';

export interface RabbitTarget extends Target {
  /** Binds the target's durable queue to every key of the exchange (until then a publish is unroutable). */
  bind(): Promise<void>;
}

/** An exchange of its own on the machine's broker (the sink declares it the same way: durable topic). */
export async function rabbitTarget(name = 'rabbit'): Promise<RabbitTarget> {
  const t = tag();
  const exchange = `faults_${t}`;
  const queue = `faults_${t}`;
  const conn = await amqp.connect(RABBITMQ);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: true });
  let bound = false;
  const held: Delivery[] = [];
  const ends: Held[] = [];
  // Takes what the queue delivered since the last call (a consumer's view: taken is gone from the queue).
  const read = async () => {
    while (bound) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      const d = toDelivery(decodeEventJson(m.content.toString('utf8')), name, 1);
      if (m.properties.messageId !== d.id) throw new Error(`${name}: message_id does not name its event ${d.id}`);
      held.push(d);
    }
    return held;
  };
  // What a consumer deduplicating by message_id keeps: each event's first message, in queue order.
  const firsts = (all: readonly Delivery[]) => {
    const seen = new Set<string>();
    const out: Delivery[] = [];
    for (const d of all) {
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      out.push(d);
    }
    return out;
  };
  return {
    spec: { kind: 'rabbitmq', name, url: RABBITMQ, exchange },
    async bind() {
      await ch.assertQueue(queue, { durable: true });
      await ch.bindQueue(queue, exchange, '#');
      bound = true;
    },
    async observe(end) {
      const ids = new Set((await read()).map((d) => d.id));
      ends.push({ ...end, holds: (d) => ids.has(d.id) });
    },
    async holdsAll({ versions }) {
      return holdsEvery(versions, await read());
    },
    async check({ url, versions, deliveries }) {
      const all = await read();
      const ds = firsts(all);
      // O5 first: a confirmation ahead of the queue is the cause of an event missing at the end (O1).
      const o5 = assertTargetHeldConfirmed(name, deliveries, ends);
      assertEveryChangeDelivered(versions, ds, name);
      assertPerKeyOrder(ds, name);
      const o4 = await assertTargetEqualsSource(url, TABLE, ds, name);
      return `${name}: ${all.length} messages, ${all.length - ds.length} repeated, ${o4.rows} rows, O5 checked ${o5.checkedEvents}`;
    },
    async close() {
      if (bound) await ch.deleteQueue(queue).catch(() => {});
      await ch.deleteExchange(exchange).catch(() => {});
      await conn.close();
    },
  };
}
