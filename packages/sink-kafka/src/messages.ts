/**
 * Turns a batch into Kafka messages: the message key of each event, a DELETE (and tombstone) for the old key when an
 * UPDATE changed the primary key, a tombstone after each DELETE. Each message carries a `ref` unique within the
 * batch, so a retry can skip the messages whose partition already acknowledged them.
 */
import {
  type Batch,
  type ChangeEvent,
  encodeEventJson,
  encodeEventMsgpack,
  encodeValueJson,
  formatLsn,
  type Row,
  SinkError,
  type TableSchema,
} from '@walstream/core';
import { setField } from '@walstream/core/internal';

/** One message to produce, before partitioning. */
export interface OutMessage {
  /** `<event id>` for the event itself, `<event id>/old`, `/old-tombstone`, `/tombstone` for the extra ones. */
  readonly ref: string;
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers?: Record<string, string>;
}

export interface MessageOptions {
  topicOf(e: ChangeEvent): string;
  msgpack: boolean;
  tombstones: boolean;
  /** Key columns for tables without a primary key, by `schema.table`. */
  keyColumns: ReadonlyMap<string, readonly string[]>;
}

/** The message key: the key columns as JSON with sorted names, so equal keys give equal bytes. */
export function stableKey(key: Row | null): string | null {
  if (key === null) return null;
  const names = Object.keys(key).sort();
  return `{${names.map((n) => `${JSON.stringify(n)}:${encodeValueJson(key[n] ?? null)}`).join(',')}}`;
}

function pick(row: Row, names: readonly string[]): Row | null {
  const out: Row = {};
  for (const n of names) {
    if (!Object.hasOwn(row, n)) return null; // `in` would find inherited names (constructor, toString)
    setField(out, n, row[n] ?? null);
  }
  return out;
}

/**
 * Builds messages for a sink's batches. It remembers each table's last schema (from the batches' schema changes),
 * because a REPLICA IDENTITY FULL table without a primary key has no usable event key: the Postgres reader sends an
 * empty one (one key for the whole table, which a tombstone would compact away), other readers the whole row (which
 * moves the row to another partition on every update). Either is replaced by the configured columns or by null.
 */
export class MessageBuilder {
  private readonly tables = new Map<string, TableSchema>();

  constructor(private readonly o: MessageOptions) {}

  /** Key columns of an event's table, or null when the table has no usable key. */
  private keyNames(e: ChangeEvent): readonly string[] | null {
    const table = `${e.schema}.${e.table}`;
    const configured = this.o.keyColumns.get(table);
    if (configured !== undefined) return configured;
    if (e.key === null) return null;
    const names = Object.keys(e.key);
    if (names.length === 0) return null; // REPLICA IDENTITY FULL without a primary key, as the Postgres reader sends it
    const schema = this.tables.get(table);
    if (schema?.replicaIdentity === 'full' && schema.columns.every((c) => names.includes(c.name))) return null;
    return names;
  }

  build(batch: Batch): OutMessage[] {
    const changes = [...batch.schemaChanges].sort((a, b) =>
      a.position.lsn === b.position.lsn
        ? a.position.index - b.position.index
        : a.position.lsn < b.position.lsn
          ? -1
          : 1,
    );
    let next = 0;
    const out: OutMessage[] = [];
    for (const e of batch.events) {
      while (next < changes.length) {
        const c = changes[next] as (typeof changes)[number];
        const before =
          c.position.lsn < e.position.lsn ||
          (c.position.lsn === e.position.lsn && c.position.index <= e.position.index);
        if (!before) break;
        this.tables.set(`${c.schema.schema}.${c.schema.table}`, c.schema);
        next++;
      }
      this.event(e, out);
    }
    for (; next < changes.length; next++) {
      const c = changes[next] as (typeof changes)[number];
      this.tables.set(`${c.schema.schema}.${c.schema.table}`, c.schema);
    }
    return out;
  }

  private event(e: ChangeEvent, out: OutMessage[]): void {
    const topic = this.o.topicOf(e);
    // TRUNCATE and MESSAGE carry no row, so no key.
    const names = e.after === null && e.before === null ? null : this.keyNames(e);
    const row = e.operation === 'DELETE' ? e.before : (e.after ?? e.before);
    // Key columns missing from `after` are unchanged TOAST values: the old row (or the event key) has them.
    const keyRow = names === null ? null : (pick(row ?? {}, names) ?? pick({ ...e.before, ...e.key, ...row }, names));
    if (names !== null && keyRow === null) {
      // Only configured columns can be missing; a silent null key would scatter the table over the partitions.
      throw new SinkError(
        `Kafka message key: event ${e.id} of ${e.schema}.${e.table} lacks key column(s) ${names.join(', ')} (keyColumns must name columns every change carries, e.g. of a REPLICA IDENTITY FULL table)`,
        { retriable: false },
      );
    }
    const key = names === null ? null : stableKey(keyRow);
    if (e.operation === 'UPDATE' && names !== null && e.before !== null) {
      const oldKey = stableKey(pick(e.before, names));
      if (oldKey !== null && oldKey !== key) {
        // A primary-key change: consumers keyed by the old key must see it go away before the new row appears.
        const del: ChangeEvent = { ...e, operation: 'DELETE', key: pick(e.before, names), after: null, unchanged: [] };
        out.push({ ref: `${e.id}/old`, topic, key: oldKey, value: this.encode(del), headers: headers(del) });
        if (this.o.tombstones) out.push({ ref: `${e.id}/old-tombstone`, topic, key: oldKey, value: null });
      }
    }
    out.push({ ref: e.id, topic, key, value: this.encode(e), headers: headers(e) });
    if (e.operation === 'DELETE' && this.o.tombstones && key !== null) {
      out.push({ ref: `${e.id}/tombstone`, topic, key, value: null });
    }
  }

  private encode(e: ChangeEvent): string | Buffer {
    return this.o.msgpack ? Buffer.from(encodeEventMsgpack(e)) : encodeEventJson(e);
  }
}

function headers(e: ChangeEvent): Record<string, string> {
  return {
    'walstream-id': e.id,
    'walstream-operation': e.operation,
    'walstream-lsn': formatLsn(e.position.lsn),
    'walstream-transaction-id': e.transactionId,
  };
}
