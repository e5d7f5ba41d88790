/** The Postgres side of the apply engine: one node-postgres client, named prepared multi-row statements. */
import { createHash } from 'node:crypto';
import { type ColumnSchema, RawJson, type Value } from '@walstream/core';
import pg from 'pg';
import type { ConvertOptions, Dialect, TargetColumn, TargetTable, ValueSite } from './apply/dialect.js';
import { ApplyError, ApplyErrorReason } from './apply/errors.js';
import { lengthTypmod, numericTypmod } from './apply/schema.js';
import { connectionLost, flatten, openConnection, StatementCache } from './apply/statements.js';
import { quotePg } from './verify/pg-side.js';

/** NAMEDATALEN - 1: Postgres' limit for identifiers, in bytes. */
export const POSTGRES_MAX_IDENTIFIER = 63;

/** SQLSTATE classes and codes worth retrying: connection loss, shutdown, deadlocks, serialization, locks. */
const RETRIABLE_STATES = new Set(['40001', '40P01', '55P03', '53300', '57P01', '57P02', '57P03', '58030']);

function quoteElement(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A Postgres array literal for a nested walstream array (exact: bigint, NaN, -0, bytea, json kept). */
export function pgArrayLiteral(v: readonly Value[]): string {
  const el = (x: Value): string => {
    if (x === null) return 'NULL';
    if (Array.isArray(x)) return pgArrayLiteral(x);
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
    if (typeof x === 'bigint') return x.toString();
    if (typeof x === 'boolean') return x ? 't' : 'f';
    if (x instanceof Uint8Array) {
      return quoteElement(`\\x${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`);
    }
    if (x instanceof RawJson) return quoteElement(x.text);
    return quoteElement(x as string);
  };
  return `{${v.map(el).join(',')}}`;
}

function jsonOf(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(jsonOf).join(',')}]`;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof RawJson) return v.text;
  if (v instanceof Uint8Array) return JSON.stringify(`\\x${Buffer.from(v).toString('hex')}`);
  return JSON.stringify(v);
}

/** The Postgres type createTables writes for a source column; user-defined types become text. */
export function pgColumnType(col: ColumnSchema): string {
  const isArray = col.type.endsWith('[]');
  const base = isArray ? col.type.slice(0, -2) : col.type;
  if (col.typeOid >= 16384) return isArray ? 'text[]' : 'text';
  let t = base;
  const tm = col.typeModifier;
  if (base === 'numeric') {
    const n = numericTypmod(tm);
    if (n !== null) t = `numeric(${n.precision},${n.scale})`;
  } else if (base === 'character varying' || base === 'character' || base === 'bit' || base === 'bit varying') {
    const n = base.startsWith('bit') ? (tm >= 0 ? tm : null) : lengthTypmod(tm);
    if (n !== null) t = `${base}(${n})`;
  } else if (/^(timestamp|time) with(out)? time zone$/.test(base) && tm >= 0) {
    t = base.replace(/^(timestamp|time)/, `$1(${tm})`);
  }
  return isArray ? `${t}[]` : t;
}

function statementName(text: string): string {
  return `ws_${createHash('sha1').update(text).digest('hex').slice(0, 40)}`;
}

export interface PgConnectionSettings {
  readonly connectionString: string;
  readonly connection: pg.ClientConfig | undefined;
}

export class PostgresDialect implements Dialect {
  readonly kind = 'postgres';
  readonly transactionalDdl = true;
  readonly maxIdentifierLength = POSTGRES_MAX_IDENTIFIER;
  private client: pg.Client | null = null;
  private inTransaction = false;
  /**
   * Statements of the open transaction sent without waiting for their answers (pipeline mode): a batch costs
   * one round trip instead of one per statement. Postgres runs them in order; one that fails aborts the
   * transaction, so the checkpoint and COMMIT behind it fail too and nothing commits. settle() reports the
   * first failure.
   */
  private inflight: Promise<unknown>[] = [];
  private readonly statements = new StatementCache<{ name: string; text: string }>();

  constructor(private readonly s: PgConnectionSettings) {}

  private get c(): pg.Client {
    if (this.client === null) throw connectionLost();
    return this.client;
  }

  async connect(): Promise<void> {
    if (this.client !== null) return;
    this.client = await openConnection(
      () => new pg.Client({ connectionString: this.s.connectionString, ...this.s.connection, pipeline: true }),
      async (client) => {
        await client.connect();
        await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'");
      },
      (client) => {
        if (this.client === client) this.client = null;
      },
    );
    this.inTransaction = false;
  }

  async reset(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.inTransaction = false;
    this.inflight = [];
    if (c) await c.end().catch(() => {});
  }

  async close(): Promise<void> {
    await this.reset();
  }

  defaultNamespace(sourceSchema: string): string {
    return sourceSchema;
  }

  checkIdentifier(name: string, what: string): void {
    const bytes = Buffer.byteLength(name);
    if (bytes === 0 || bytes > POSTGRES_MAX_IDENTIFIER || name.includes('\u0000')) {
      throw new ApplyError(
        ApplyErrorReason.Identifier,
        `${what}: name of ${bytes} bytes; Postgres allows 1 to ${POSTGRES_MAX_IDENTIFIER} bytes without NUL`,
      );
    }
  }

  quote(name: string): string {
    return quotePg(name);
  }

  private table(ns: string, name: string): string {
    return `${quotePg(ns)}.${quotePg(name)}`;
  }

  private async run(text: string, values: readonly unknown[]): Promise<pg.QueryResult> {
    await this.settle();
    return this.c.query({ name: statementName(text), text, values: values as unknown[] });
  }

  /** An answered query: earlier pipelined statements are settled first, so their error is the one reported. */
  private async ask<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.settle();
    return this.c.query<R>(text, values as unknown[] | undefined);
  }

  /** Sends a statement of the open transaction without waiting for its answer. */
  private send(q: pg.QueryConfig): void {
    const p = this.c.query(q);
    // Observed by settle(); without a handler a failure would be an unhandled rejection until then.
    p.catch(() => {});
    this.inflight.push(p);
  }

  /** Waits for every pipelined statement; throws the first one's error. */
  async settle(): Promise<void> {
    while (this.inflight.length > 0) {
      const sent = this.inflight;
      this.inflight = [];
      for (const p of sent) await p;
    }
  }

  /** The text and name of a multi-row statement, both built once per shape (hashing the text costs too). */
  private statement(shape: readonly (string | number)[], build: () => string): { name: string; text: string } {
    return this.statements.get(shape, () => {
      const text = build();
      return { name: statementName(text), text };
    });
  }

  async begin(): Promise<void> {
    await this.connect();
    await this.settle();
    // Pipelined too: on an idle session BEGIN fails only with the connection, which fails what follows.
    this.send({ text: 'BEGIN' });
    this.inTransaction = true;
  }

  async rollback(): Promise<void> {
    if (!this.inTransaction || this.client === null) return;
    this.inTransaction = false;
    // Pipelined statements still unanswered fail or finish first (in order); their errors were reported already.
    this.inflight = [];
    await this.client.query('ROLLBACK');
  }

  async ensureCheckpointTable(table: string): Promise<void> {
    await this.ask(
      `CREATE TABLE IF NOT EXISTS ${quotePg(table)} (pipeline text NOT NULL, sink text NOT NULL, position text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink))`,
    );
  }

  async readCheckpoint(table: string, pipeline: string, sink: string): Promise<string | null> {
    const r = await this.ask(`SELECT position FROM ${quotePg(table)} WHERE pipeline = $1 AND sink = $2`, [
      pipeline,
      sink,
    ]);
    return (r.rows[0] as { position: string } | undefined)?.position ?? null;
  }

  async commitWithCheckpoint(table: string, pipeline: string, sink: string, position: string): Promise<void> {
    // One simple-protocol round trip for the checkpoint and the COMMIT (literals escaped by node-postgres).
    // Pipelined behind the transaction's statements: a failed one aborted the transaction, so this fails too
    // (the INSERT is refused, the COMMIT never runs) and settle() throws the first error.
    const c = this.c;
    const lit = (v: string) => c.escapeLiteral(v);
    this.send({
      text: `INSERT INTO ${quotePg(table)} (pipeline, sink, position, updated_at) VALUES (${lit(pipeline)}, ${lit(sink)}, ${lit(position)}, now())
       ON CONFLICT (pipeline, sink) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at; COMMIT`,
    });
    await this.settle();
    this.inTransaction = false;
  }

  async describeTable(ns: string, name: string): Promise<TargetTable | null> {
    const cols = await this.ask<{ name: string; type: string; key: number | null }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
         array_position(i.indkey::int2[], a.attnum) AS key
       FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace s ON s.oid = r.relnamespace
       LEFT JOIN pg_index i ON i.indrelid = r.oid AND i.indisprimary
       WHERE s.nspname = $1 AND r.relname = $2 AND r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [ns, name],
    );
    if (cols.rows.length === 0) return null;
    const columns = new Map<string, TargetColumn>();
    for (const c of cols.rows) columns.set(c.name, { name: c.name, dataType: c.type, precision: null, scale: null });
    const key = cols.rows
      .filter((c) => c.key !== null)
      .sort((a, b) => (a.key as number) - (b.key as number))
      .map((c) => c.name);
    const unique = await this.ask<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid
       JOIN pg_namespace s ON s.oid = r.relnamespace
       WHERE s.nspname = $1 AND r.relname = $2 AND i.indisunique AND NOT i.indisprimary`,
      [ns, name],
    );
    return { namespace: ns, name, columns, key, ordered: (unique.rows[0]?.n ?? 0) > 0 };
  }

  columnType(col: ColumnSchema): string {
    return pgColumnType(col);
  }

  async createTable(ns: string, name: string, columns: readonly ColumnSchema[], key: readonly string[]): Promise<void> {
    const defs = columns.map((c) => `${quotePg(c.name)} ${pgColumnType(c)}${key.includes(c.name) ? ' NOT NULL' : ''}`);
    await this.ask(`CREATE SCHEMA IF NOT EXISTS ${quotePg(ns)}`);
    await this.ask(
      `CREATE TABLE IF NOT EXISTS ${this.table(ns, name)} (${defs.join(', ')}, PRIMARY KEY (${key.map(quotePg).join(', ')}))`,
    );
  }

  async addColumn(ns: string, name: string, col: ColumnSchema): Promise<void> {
    await this.ask(
      `ALTER TABLE ${this.table(ns, name)} ADD COLUMN IF NOT EXISTS ${quotePg(col.name)} ${pgColumnType(col)}`,
    );
  }

  async dropColumn(ns: string, name: string, column: string): Promise<void> {
    await this.ask(`ALTER TABLE ${this.table(ns, name)} DROP COLUMN IF EXISTS ${quotePg(column)}`);
  }

  async alterColumnType(ns: string, name: string, col: ColumnSchema): Promise<void> {
    await this.ask(`ALTER TABLE ${this.table(ns, name)} ALTER COLUMN ${quotePg(col.name)} TYPE ${pgColumnType(col)}`);
  }

  async upsert(
    t: TargetTable,
    columns: readonly string[],
    update: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void> {
    const shape = ['u', t.namespace, t.name, rows.length, ...t.key, '', ...columns, '', ...update];
    const q = this.statement(shape, () => {
      let n = 0;
      const tuples = rows.map(() => `(${columns.map(() => `$${++n}`).join(',')})`);
      const conflict =
        update.length === 0
          ? 'DO NOTHING'
          : `DO UPDATE SET ${update.map((c) => `${quotePg(c)} = EXCLUDED.${quotePg(c)}`).join(', ')}`;
      return `INSERT INTO ${this.table(t.namespace, t.name)} (${columns.map(quotePg).join(',')}) VALUES ${tuples.join(',')} ON CONFLICT (${t.key.map(quotePg).join(',')}) ${conflict}`;
    });
    this.send({ name: q.name, text: q.text, values: flatten(rows) });
  }

  async insert(t: TargetTable, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    // Pipelined like the upserts: a key that exists fails this statement (23505) and so the whole transaction.
    const q = this.statement(['i', t.namespace, t.name, rows.length, ...columns], () => {
      let n = 0;
      const tuples = rows.map(() => `(${columns.map(() => `$${++n}`).join(',')})`);
      return `INSERT INTO ${this.table(t.namespace, t.name)} (${columns.map(quotePg).join(',')}) VALUES ${tuples.join(',')}`;
    });
    this.send({ name: q.name, text: q.text, values: flatten(rows) });
  }

  isDuplicateKey(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === '23505';
  }

  async deleteKeys(t: TargetTable, keys: readonly unknown[][]): Promise<void> {
    const q = this.statement(['d', t.namespace, t.name, keys.length, ...t.key], () => {
      let n = 0;
      const where =
        t.key.length === 1
          ? `${quotePg(t.key[0] as string)} IN (${keys.map(() => `$${++n}`).join(',')})`
          : `(${t.key.map(quotePg).join(',')}) IN (${keys.map(() => `(${t.key.map(() => `$${++n}`).join(',')})`).join(',')})`;
      return `DELETE FROM ${this.table(t.namespace, t.name)} WHERE ${where}`;
    });
    this.send({ name: q.name, text: q.text, values: flatten(keys) });
  }

  async deleteAll(t: TargetTable): Promise<void> {
    // Transactional in Postgres, unlike MySQL.
    this.send({ text: `TRUNCATE ${this.table(t.namespace, t.name)}` });
  }

  async updateByKey(
    t: TargetTable,
    oldKey: readonly unknown[],
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<number> {
    let n = 0;
    const set = columns.map((c) => `${quotePg(c)} = $${++n}`).join(', ');
    const where = t.key.map((k) => `${quotePg(k)} = $${++n}`).join(' AND ');
    const r = await this.run(`UPDATE ${this.table(t.namespace, t.name)} SET ${set} WHERE ${where}`, [
      ...values,
      ...oldKey,
    ]);
    return r.rowCount ?? 0;
  }

  convert(col: TargetColumn, v: Value, _site: ValueSite, _opts: ConvertOptions): unknown {
    if (v === null) return null;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'NaN';
      if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
      return Object.is(v, -0) ? '-0' : v;
    }
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    if (v instanceof RawJson) return v.text;
    if (Array.isArray(v)) return /^jsonb?$/.test(col.dataType) ? jsonOf(v) : pgArrayLiteral(v);
    return v;
  }

  isRetriable(err: unknown): boolean {
    if (err === null || typeof err !== 'object') return false;
    const e = err as { code?: string; message?: string };
    if (typeof e.code === 'string' && (e.code.startsWith('08') || RETRIABLE_STATES.has(e.code))) return true;
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return true; // ECONNRESET, ECONNREFUSED, EPIPE, ...
    return /Connection terminated|not queryable|Client has encountered a connection error|ECONNRESET/i.test(
      e.message ?? '',
    );
  }
}
