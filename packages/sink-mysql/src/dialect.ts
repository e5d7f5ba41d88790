/** The MySQL/MariaDB side of the apply engine: one mysql2 connection, prepared multi-row statements. */
import type { ColumnSchema, Value } from '@walstream/core';
import {
  ApplyError,
  ApplyErrorReason,
  type ConvertOptions,
  connectionLost,
  type Dialect,
  flatten,
  openConnection,
  StatementCache,
  type TargetColumn,
  type TargetTable,
  type ValueSite,
} from '@walstream/sink-postgres/internal';
import mysql from 'mysql2/promise';
import { mysqlColumnType, textKeyChars, toMysqlValue } from './types.js';

/** MySQL's limit for database, table and column names, in characters. */
export const MYSQL_MAX_IDENTIFIER = 64;

const RETRIABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

const NON_TRANSACTIONAL = new Set(['myisam', 'memory', 'csv', 'archive', 'aria', 'mrg_myisam', 'blackhole']);

export function quoteMysql(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function checkMysqlIdentifier(name: string, what: string): void {
  const chars = [...name].length;
  if (chars === 0 || chars > MYSQL_MAX_IDENTIFIER) {
    throw new ApplyError(
      ApplyErrorReason.Identifier,
      `${what}: name of ${chars} characters; MySQL allows 1 to ${MYSQL_MAX_IDENTIFIER} (map it to a shorter name with \`tables\`)`,
    );
  }
  if (name.includes('\u0000') || name.endsWith(' ')) {
    throw new ApplyError(ApplyErrorReason.Identifier, `${what}: MySQL names cannot contain NUL or end with a space`);
  }
  // MySQL identifiers hold only the Basic Multilingual Plane (no emoji): map such names with `tables`.
  if (/[\u{10000}-\u{10FFFF}]/u.test(name)) {
    throw new ApplyError(
      ApplyErrorReason.Identifier,
      `${what}: MySQL names cannot hold characters beyond U+FFFF (emoji); map it to another name with \`tables\``,
    );
  }
}

export interface MySqlConnectionSettings {
  readonly connectionString: string;
  readonly connection: mysql.ConnectionOptions | undefined;
}

export class MySqlDialect implements Dialect {
  readonly kind = 'mysql';
  readonly transactionalDdl = false;
  readonly maxIdentifierLength = MYSQL_MAX_IDENTIFIER;
  private conn: mysql.Connection | null = null;
  private database = '';
  private collation = 'utf8mb4_bin';
  private inTransaction = false;
  /** Multi-row statement texts by shape: built once, not for every batch (mysql2 prepares each text once). */
  private readonly statements = new StatementCache<string>();

  constructor(private readonly s: MySqlConnectionSettings) {}

  private get c(): mysql.Connection {
    if (this.conn === null) throw connectionLost();
    return this.conn;
  }

  async connect(): Promise<void> {
    if (this.conn !== null) return;
    this.conn = await openConnection(
      () =>
        mysql.createConnection({
          uri: this.s.connectionString,
          charset: 'utf8mb4',
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: true,
          decimalNumbers: false,
          timezone: 'Z',
          connectTimeout: 10_000,
          ...this.s.connection,
          // The checkpoint and COMMIT go in one round trip (only the sink's own escaped SQL is ever sent).
          multipleStatements: true,
        }),
      async (conn) => {
        await conn.query(
          "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,NO_ZERO_IN_DATE', time_zone = '+00:00', autocommit = 0",
        );
        const [rows] = await conn.query('SELECT DATABASE() AS db, VERSION() AS version');
        const r = (rows as { db: string | null; version: string }[])[0];
        this.database = r?.db ?? '';
        // NO PAD binary collations: 'a' and 'a ' are different keys, as in Postgres.
        this.collation = /mariadb/i.test(r?.version ?? '') ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
      },
      (conn) => {
        if (this.conn === conn) this.conn = null;
      },
    );
    this.inTransaction = false;
  }

  async reset(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    this.inTransaction = false;
    if (c) c.destroy();
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    if (c) await c.end().catch(() => c.destroy());
  }

  defaultNamespace(): string {
    if (this.database === '') {
      throw new ApplyError(
        ApplyErrorReason.Target,
        'the connection string names no database, and the table mapping none',
      );
    }
    return this.database;
  }

  checkIdentifier(name: string, what: string): void {
    checkMysqlIdentifier(name, what);
  }

  quote(name: string): string {
    return quoteMysql(name);
  }

  private table(ns: string, name: string): string {
    return `${quoteMysql(ns)}.${quoteMysql(name)}`;
  }

  async begin(): Promise<void> {
    // autocommit = 0: the first statement opens the transaction, which saves a round trip per transaction.
    // DDL never runs while one is open (the engine prepares tables first), since it would commit it.
    await this.connect();
    this.inTransaction = true;
  }

  async rollback(): Promise<void> {
    if (!this.inTransaction || this.conn === null) return;
    this.inTransaction = false;
    await this.conn.query('ROLLBACK');
  }

  async ensureCheckpointTable(table: string): Promise<void> {
    await this.c.query(
      `CREATE TABLE IF NOT EXISTS ${quoteMysql(table)} (pipeline VARCHAR(191) NOT NULL, sink VARCHAR(191) NOT NULL,
        position VARCHAR(64) NOT NULL, updated_at DATETIME(6) NOT NULL, PRIMARY KEY (pipeline, sink))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${this.collation}`,
    );
  }

  async readCheckpoint(table: string, pipeline: string, sink: string): Promise<string | null> {
    const [rows] = await this.c.execute(`SELECT position FROM ${quoteMysql(table)} WHERE pipeline = ? AND sink = ?`, [
      pipeline,
      sink,
    ]);
    // With autocommit = 0 the SELECT opened a transaction (a read view that would hold back purge while idle).
    await this.c.query('COMMIT');
    return (rows as { position: string }[])[0]?.position ?? null;
  }

  async commitWithCheckpoint(table: string, pipeline: string, sink: string, position: string): Promise<void> {
    const sql = mysql.format(
      `INSERT INTO ${quoteMysql(table)} (pipeline, sink, position, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE position = VALUES(position), updated_at = VALUES(updated_at); COMMIT`,
      [pipeline, sink, position],
    );
    await this.c.query(sql);
    this.inTransaction = false;
  }

  async describeTable(ns: string, name: string): Promise<TargetTable | null> {
    const [tables] = await this.c.execute(
      'SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [ns, name],
    );
    const t = (tables as { engine: string | null }[])[0];
    if (t === undefined) return null;
    if (NON_TRANSACTIONAL.has(String(t.engine).toLowerCase())) {
      throw new ApplyError(
        ApplyErrorReason.Target,
        `target table ${ns}.${name} uses the non-transactional engine ${t.engine}; exactly-once apply needs InnoDB`,
      );
    }
    const [cols] = await this.c.execute(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, NUMERIC_PRECISION AS p,
         COALESCE(NUMERIC_SCALE, DATETIME_PRECISION) AS s
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [ns, name],
    );
    const [keys] = await this.c.execute(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [ns, name],
    );
    const columns = new Map<string, TargetColumn>();
    for (const c of cols as { name: string; dataType: string; p: string | null; s: string | null }[]) {
      columns.set(c.name, {
        name: c.name,
        dataType: c.dataType.toLowerCase(),
        precision: c.p === null ? null : Number(c.p),
        scale: c.s === null ? null : Number(c.s),
      });
    }
    const [unique] = await this.c.execute(
      `SELECT COUNT(DISTINCT INDEX_NAME) AS n FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'`,
      [ns, name],
    );
    const ordered = Number((unique as { n: number | string }[])[0]?.n ?? 0) > 0;
    return { namespace: ns, name, columns, key: (keys as { name: string }[]).map((k) => k.name), ordered };
  }

  columnType(col: ColumnSchema, inKey: boolean): string {
    return mysqlColumnType(col, inKey ? 768 : null);
  }

  async createTable(ns: string, name: string, columns: readonly ColumnSchema[], key: readonly string[]): Promise<void> {
    const keyCols = columns.filter((c) => key.includes(c.name));
    const chars = textKeyChars(keyCols);
    const defs = columns.map((c) => {
      const k = key.includes(c.name);
      return `${quoteMysql(c.name)} ${mysqlColumnType(c, k ? chars : null)}${k ? ' NOT NULL' : ' NULL'}`;
    });
    await this.c.query(
      `CREATE DATABASE IF NOT EXISTS ${quoteMysql(ns)} CHARACTER SET utf8mb4 COLLATE ${this.collation}`,
    );
    await this.c.query(
      `CREATE TABLE IF NOT EXISTS ${this.table(ns, name)} (${defs.join(', ')}, PRIMARY KEY (${key.map(quoteMysql).join(', ')}))
       ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${this.collation}`,
    );
  }

  async addColumn(ns: string, name: string, col: ColumnSchema): Promise<void> {
    await this.c.query(
      `ALTER TABLE ${this.table(ns, name)} ADD COLUMN ${quoteMysql(col.name)} ${mysqlColumnType(col, null)} NULL`,
    );
  }

  async dropColumn(ns: string, name: string, column: string): Promise<void> {
    await this.c.query(`ALTER TABLE ${this.table(ns, name)} DROP COLUMN ${quoteMysql(column)}`);
  }

  async alterColumnType(ns: string, name: string, col: ColumnSchema, key: readonly ColumnSchema[]): Promise<void> {
    const t = await this.describeTable(ns, name);
    const inKey = t?.key.includes(col.name) ?? false;
    // A key column gets the room createTable would give it next to the other key columns.
    const chars = inKey ? textKeyChars(key.length > 0 ? key : [col]) : null;
    await this.c.query(
      `ALTER TABLE ${this.table(ns, name)} MODIFY COLUMN ${quoteMysql(col.name)} ${mysqlColumnType(col, chars)}${inKey ? ' NOT NULL' : ' NULL'}`,
    );
  }

  async upsert(
    t: TargetTable,
    columns: readonly string[],
    update: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void> {
    const shape = ['u', t.namespace, t.name, rows.length, ...t.key, '', ...columns, '', ...update];
    const sql = this.statements.get(shape, () => {
      // ON DUPLICATE KEY fires for ANY unique index. If the clash is not on the primary key, setting the first
      // key column to NULL fails the statement loudly instead of overwriting a different row.
      const k0 = quoteMysql(t.key[0] as string);
      const samePk = t.key.map((k) => `${quoteMysql(k)} <=> VALUES(${quoteMysql(k)})`).join(' AND ');
      const set = [
        `${k0}=IF(${samePk},${k0},NULL)`,
        ...update.map((c) => `${quoteMysql(c)}=VALUES(${quoteMysql(c)})`),
      ].join(',');
      return `${this.insertInto(t, columns, rows.length)} ON DUPLICATE KEY UPDATE ${set}`;
    });
    await this.c.execute(sql, flatten(rows) as never[]);
  }

  private insertInto(t: TargetTable, columns: readonly string[], rows: number): string {
    const tuple = `(${columns.map(() => '?').join(',')})`;
    return `INSERT INTO ${this.table(t.namespace, t.name)} (${columns.map(quoteMysql).join(',')}) VALUES ${Array(rows).fill(tuple).join(',')}`;
  }

  // No insert(): plain INSERTs measured no faster than ON DUPLICATE KEY UPDATE on MariaDB 10.11 (bench, paired
  // per transaction), so every write stays an upsert and no transaction is ever redone.

  isDuplicateKey(err: unknown): boolean {
    const e = err as { code?: unknown; errno?: unknown } | null;
    // 1062 ER_DUP_ENTRY, 1586 ER_DUP_ENTRY_WITH_KEY_NAME.
    return e?.code === 'ER_DUP_ENTRY' || e?.errno === 1062 || e?.errno === 1586;
  }

  async deleteKeys(t: TargetTable, keys: readonly unknown[][]): Promise<void> {
    const sql = this.statements.get(['d', t.namespace, t.name, keys.length, ...t.key], () => {
      const where =
        t.key.length === 1
          ? `${quoteMysql(t.key[0] as string)} IN (${keys.map(() => '?').join(',')})`
          : keys.map(() => `(${t.key.map((k) => `${quoteMysql(k)}=?`).join(' AND ')})`).join(' OR ');
      return `DELETE FROM ${this.table(t.namespace, t.name)} WHERE ${where}`;
    });
    await this.c.execute(sql, flatten(keys) as never[]);
  }

  async deleteAll(t: TargetTable): Promise<void> {
    // TRUNCATE TABLE commits implicitly in MySQL; DELETE stays inside the target transaction.
    await this.c.query(`DELETE FROM ${this.table(t.namespace, t.name)}`);
  }

  async updateByKey(
    t: TargetTable,
    oldKey: readonly unknown[],
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<number> {
    const sql = `UPDATE ${this.table(t.namespace, t.name)} SET ${columns.map((c) => `${quoteMysql(c)}=?`).join(',')} WHERE ${t.key.map((k) => `${quoteMysql(k)}=?`).join(' AND ')}`;
    const [r] = await this.c.execute(sql, [...values, ...oldKey] as never[]);
    return (r as { affectedRows: number }).affectedRows;
  }

  convert(col: TargetColumn, value: Value, site: ValueSite, opts: ConvertOptions): unknown {
    return toMysqlValue(col, value, site, opts);
  }

  isRetriable(err: unknown): boolean {
    const e = err as { code?: string; fatal?: boolean; errno?: number };
    if (e === null || typeof e !== 'object') return false;
    if (e.fatal === true) return true;
    // 1927: MariaDB "Connection was killed", 2006/2013: server gone / lost during query.
    return RETRIABLE_CODES.has(String(e.code)) || e.errno === 1927 || e.errno === 2006 || e.errno === 2013;
  }
}
