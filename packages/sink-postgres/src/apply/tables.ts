/**
 * Maps source tables to target tables, creates them (createTables) and keeps them in step with the source's
 * schema changes. Every DDL here is idempotent (it compares with what the target has), so a replay after a
 * crash finds the target already altered and does nothing.
 */
import { type ColumnSchema, type Logger, type SchemaChange, silentLogger, type TableSchema } from '@walstream/core';
import type { Dialect, TargetTable } from './dialect.js';
import { ApplyError, ApplyErrorReason } from './errors.js';
import type { ColumnFilter, ResolvedCommonOptions } from './options.js';
import { keySourcesOf, type RowShape } from './rows.js';
import { isWidening } from './schema.js';

/** One source table's place in the target. `false` skips the table. */
export interface NormalizedMapping {
  readonly namespace?: string;
  readonly table?: string;
  readonly columns?: ColumnFilter;
}

export interface MappingOptions {
  /** `schema.table` or `table` -> mapping; `false` skips the table. */
  readonly tables: Readonly<Record<string, NormalizedMapping | false>>;
  /** Source schema -> target namespace (a MySQL database or a Postgres schema). */
  readonly namespaces: Readonly<Record<string, string>>;
}

export interface ResolvedTable {
  /** `schema.table` of the source, for messages. */
  readonly source: string;
  readonly target: TargetTable;
  readonly label: string;
  included(column: string): boolean;
  /** Columns the source dropped: values still carried by rows in the old shape are not written. */
  readonly dropped: Set<string>;
  /** Key columns with their error sites, in key order (undefined: the target does not describe it). */
  readonly keySources: ReturnType<typeof keySourcesOf>;
  /** The last rows' shape (rows.ts). A schema change resolves the table anew, so it never outlives one. */
  shape: RowShape | null;
}

interface Placement {
  namespace: string;
  name: string;
  included(column: string): boolean;
}

export class TableResolver {
  private readonly schemas = new Map<string, TableSchema>();
  private readonly resolved = new Map<string, ResolvedTable | null>();
  private readonly dropped = new Map<string, Set<string>>();
  /** Where DDL the sink runs is reported (names only). */
  logger: Logger = silentLogger;

  constructor(
    private readonly d: Dialect,
    private readonly o: ResolvedCommonOptions,
    private readonly m: MappingOptions,
  ) {}

  /** Forget target descriptions (after a failure: the target may have changed under us). */
  reset(): void {
    this.resolved.clear();
  }

  private place(schema: string, table: string): Placement | null {
    const entry = this.m.tables[`${schema}.${table}`] ?? this.m.tables[table];
    if (entry === false) return null;
    const namespace = entry?.namespace ?? this.m.namespaces[schema] ?? this.d.defaultNamespace(schema);
    const name = entry?.table ?? table;
    this.d.checkIdentifier(namespace, `target namespace for ${schema}.${table}`);
    this.d.checkIdentifier(name, `target table for ${schema}.${table}`);
    const include = entry?.columns?.include ? new Set(entry.columns.include) : null;
    const exclude = new Set(entry?.columns?.exclude ?? []);
    return { namespace, name, included: (c) => (include === null || include.has(c)) && !exclude.has(c) };
  }

  /** The table already resolved (null: skipped), or undefined when forTable must look it up. */
  known(schema: string, table: string): ResolvedTable | null | undefined {
    return this.resolved.get(`${schema}.${table}`);
  }

  /** `allowDdl` false: a missing table is an error rather than created (a MySQL transaction is open). */
  async forTable(schema: string, table: string, allowDdl = true): Promise<ResolvedTable | null> {
    const key = `${schema}.${table}`;
    if (this.resolved.has(key)) return this.resolved.get(key) ?? null;
    const p = this.place(schema, table);
    if (p === null) {
      this.resolved.set(key, null);
      return null;
    }
    let target = await this.d.describeTable(p.namespace, p.name);
    const label = `${p.namespace}.${p.name}`;
    if (target === null) {
      const s = this.schemas.get(key);
      if (!this.o.createTables) {
        throw new ApplyError(
          ApplyErrorReason.Target,
          `target table ${label} for ${key} does not exist (createTables is off)`,
        );
      }
      if (s === undefined) {
        throw new ApplyError(
          ApplyErrorReason.Target,
          `target table ${label} is missing and the schema of ${key} is unknown`,
        );
      }
      if (!allowDdl) {
        throw new ApplyError(
          ApplyErrorReason.Transaction,
          `target table ${label} must be created while a source transaction larger than maxPendingBytes is open (MySQL DDL would commit it half-way); raise maxPendingBytes`,
        );
      }
      target = await this.create(p, s);
    }
    if (target.key.length === 0) {
      throw new ApplyError(ApplyErrorReason.Target, `target table ${label} has no primary key`);
    }
    let dropped = this.dropped.get(key);
    if (dropped === undefined) {
      dropped = new Set();
      this.dropped.set(key, dropped);
    }
    const keySources = keySourcesOf({ target, label });
    const r: ResolvedTable = { source: key, target, label, included: p.included, dropped, keySources, shape: null };
    this.resolved.set(key, r);
    return r;
  }

  private async create(p: Placement, s: TableSchema): Promise<TargetTable> {
    const cols = s.columns.filter((c) => p.included(c.name));
    for (const c of cols) this.d.checkIdentifier(c.name, `column of ${s.schema}.${s.table}`);
    const key = cols.filter((c) => c.key).map((c) => c.name);
    if (key.length === 0) {
      throw new ApplyError(
        ApplyErrorReason.Target,
        `cannot create ${p.namespace}.${p.name}: ${s.schema}.${s.table} has no key column (primary key or replica identity index) among the mapped columns`,
      );
    }
    await this.d.createTable(p.namespace, p.name, cols, key);
    this.logger.info('apply sink created a target table', {
      source: `${s.schema}.${s.table}`,
      target: `${p.namespace}.${p.name}`,
    });
    const t = await this.d.describeTable(p.namespace, p.name);
    if (t === null) throw new ApplyError(ApplyErrorReason.Target, `created ${p.namespace}.${p.name} but cannot see it`);
    return t;
  }

  /** A schema item from the reader: remember it; bring an existing target table in line (or refuse). */
  async onSchemaChange(sc: SchemaChange, allowDdl = true): Promise<void> {
    const s = sc.schema;
    const key = `${s.schema}.${s.table}`;
    this.schemas.set(key, s);
    this.resolved.delete(key);
    const p = this.place(s.schema, s.table);
    if (p === null) return;
    const target = await this.d.describeTable(p.namespace, p.name);
    const refuse = () => {
      throw new ApplyError(
        ApplyErrorReason.Transaction,
        `${key} needs DDL in the target while a source transaction larger than maxPendingBytes is open (MySQL DDL would commit it half-way); raise maxPendingBytes`,
      );
    };
    const now = s.columns.filter((c) => p.included(c.name));
    const before = (sc.previous?.columns ?? []).filter((c) => p.included(c.name));
    const nowNames = new Set(now.map((c) => c.name));
    if (target === null) {
      if (!allowDdl && this.o.createTables) refuse();
      // Created (or refused) on its first row, in the latest shape: rows of earlier shapes may still carry the
      // columns dropped meanwhile, whose values are not written (as for a column dropped from a target table).
      this.noteDropped(
        key,
        before.filter((c) => !nowNames.has(c.name)),
        now,
      );
      return;
    }
    const label = `${p.namespace}.${p.name}`;
    const missing = now.filter((c) => !target.columns.has(c.name));
    const dropped = before.filter((c) => !nowNames.has(c.name) && target.columns.has(c.name));
    const changed = now.flatMap((c) => {
      const old = before.find((b) => b.name === c.name);
      return old && (old.type !== c.type || old.typeModifier !== c.typeModifier) ? [{ old, now: c }] : [];
    });
    if (this.o.onSchemaChange === 'error' && missing.length + dropped.length + changed.length > 0) {
      const parts = [
        missing.length ? `columns not in the target: ${missing.map((c) => c.name).join(', ')}` : '',
        dropped.length ? `dropped columns: ${dropped.map((c) => c.name).join(', ')}` : '',
        changed.length
          ? `type changes: ${changed.map((c) => `${c.now.name} ${c.old.type} -> ${c.now.type}`).join(', ')}`
          : '',
      ].filter(Boolean);
      throw new ApplyError(
        ApplyErrorReason.Schema,
        `source table ${key} differs from target ${label} (${parts.join('; ')}) and onSchemaChange is 'error'`,
      );
    }
    if (!allowDdl && missing.length + dropped.length + changed.length > 0) refuse();
    const added = missing.filter((c) => before.length > 0 && !before.some((b) => b.name === c.name));
    if (added.length > 0 && dropped.length > 0) {
      // Indistinguishable from a RENAME COLUMN: dropping would lose the values the source keeps under the new name.
      throw new ApplyError(
        ApplyErrorReason.Schema,
        `source table ${key} dropped ${dropped.map((c) => c.name).join(', ')} and added ${added.map((c) => c.name).join(', ')} at once (a rename?); rename or drop the column in ${label} yourself, then restart`,
      );
    }
    for (const c of changed) {
      if (!isWidening(c.old, c.now)) {
        throw new ApplyError(
          ApplyErrorReason.Schema,
          `source column ${key}.${c.now.name} changed from ${c.old.type} to ${c.now.type}: not a widening, so it is not applied to ${label}`,
        );
      }
    }
    for (const c of missing) {
      this.d.checkIdentifier(c.name, `column of ${key}`);
      await this.d.addColumn(p.namespace, p.name, c);
      // The source's column default is not in the stream: rows already there hold NULL in the new column.
      this.logger.warn(
        'apply sink added a column; existing target rows hold NULL there (re-snapshot if the source column has a default)',
        {
          target: label,
          column: c.name,
          type: c.type,
        },
      );
    }
    for (const c of changed) {
      await this.d.alterColumnType(
        p.namespace,
        p.name,
        c.now,
        now.filter((k) => k.key),
      );
      this.logger.info('apply sink widened a column', {
        target: label,
        column: c.now.name,
        from: c.old.type,
        to: c.now.type,
      });
    }
    for (const c of dropped) {
      await this.d.dropColumn(p.namespace, p.name, c.name);
      this.logger.info('apply sink dropped a column the source dropped', { target: label, column: c.name });
    }
    this.noteDropped(key, dropped, now);
  }

  /** Columns the source dropped (their values in rows of an older shape are skipped), and those it has again. */
  private noteDropped(key: string, dropped: readonly ColumnSchema[], now: readonly ColumnSchema[]): void {
    let gone = this.dropped.get(key);
    if (gone === undefined) {
      gone = new Set();
      this.dropped.set(key, gone);
    }
    for (const c of dropped) gone.add(c.name);
    for (const c of now) gone.delete(c.name);
  }
}
