/**
 * The apply engine both SQL sinks share. Exactly once: each target transaction writes the source position of
 * its last source commit into the checkpoint table; on start (and after any failure) the engine reads it back
 * and skips every event at or before it. Source transactions are never split: rows are held until their
 * commit arrives (bounded by maxPendingBytes, past which the one open transaction streams into a target
 * transaction left open until its commit).
 */
import {
  type Batch,
  type ChangeEvent,
  comparePositions,
  ErrorCode,
  estimateEventBytes,
  type Position,
  parsePositionId,
  positionId,
  type SinkContext,
  SinkError,
  type TransactionCommit,
  WalstreamError,
} from '@walstream/core';
import type { Dialect } from './dialect.js';
import { ApplyError, ApplyErrorReason } from './errors.js';
import type { ResolvedCommonOptions } from './options.js';
import { keyString, mergeRows, TablePlan } from './planner.js';
import { convertRow, keyOfConverted, keyValues } from './rows.js';
import { type MappingOptions, type ResolvedTable, TableResolver } from './tables.js';

const NAME_BEFORE = /(column|table|relation|key|constraint|database|schema|index|type|function)\s*$/i;

/**
 * Database error messages quote values (`Duplicate entry 'x@y' for key`, `invalid input syntax for type integer:
 * "abc"`); names of columns, tables and keys stay, every other quoted part becomes `'?'`.
 */
export function redactValues(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g, (m, offset: number) =>
    NAME_BEFORE.test(message.slice(Math.max(0, offset - 20), offset)) ? m : "'?'",
  );
}

interface Unit {
  events: ChangeEvent[];
  commit: TransactionCommit;
}

/**
 * After a plain INSERT met an existing row, that table's rows go out as upserts for this many target
 * transactions: a target that holds such rows for a while (a snapshot into a filled table) pays one redo per
 * this many transactions, not one per transaction.
 */
const UPSERT_TRANSACTIONS_AFTER_CONFLICT = 1024;

export class ApplyEngine {
  private pipeline = 'default';
  private checkpoint: Position | null = null;
  private pending: ChangeEvent[] = [];
  /** LSN of the source transaction being streamed into an open target transaction (overflow mode). */
  private overflow: bigint | null = null;
  private needsResync = true;
  private closed = false;
  /** Target transactions begun so far (the clock of upsertsUntil). */
  private transactions = 0;
  /** Source table -> the transaction count until which its inserted rows are sent as upserts. */
  private readonly upsertsUntil = new Map<string, number>();
  private readonly tables: TableResolver;

  constructor(
    private readonly d: Dialect,
    private readonly o: ResolvedCommonOptions,
    mapping: MappingOptions,
  ) {
    d.checkIdentifier(o.checkpointTable, 'checkpointTable');
    this.tables = new TableResolver(d, o, mapping);
  }

  /** The last source position applied (what the checkpoint table holds). */
  get position(): Position | null {
    return this.checkpoint;
  }

  async open(ctx: SinkContext): Promise<void> {
    this.pipeline = ctx.pipeline;
    this.tables.logger = ctx.logger;
    try {
      await this.resync();
    } catch (err) {
      // Typed like a write's failure: named, redacted, retriable when the connection is what failed.
      throw await this.fail(err);
    }
    const source = ctx.source?.() ?? null;
    // Debezium's rule: a position downstream and no slot upstream is a lost slot, never a first run. A temporary
    // slot is new on every start by design (the gap between runs is accepted with it).
    if (this.checkpoint !== null && source?.slotCreated === true && source.temporary !== true) {
      const held = positionId(this.checkpoint);
      this.needsResync = true;
      await this.d.close().catch(() => {});
      throw new ApplyError(
        ApplyErrorReason.Checkpoint,
        `sink ${this.o.name}: the source's replication slot is missing and would be created fresh in this start, ` +
          `but the target's ${this.o.checkpointTable} holds position ${held} for pipeline ${this.pipeline}: ` +
          'a failover or restore lost the slot (changes after the checkpoint were not captured, and new ones at ' +
          'lower positions would be skipped). Verify or rebuild the target; then delete its checkpoint row ' +
          `(pipeline ${this.pipeline}, sink ${this.o.name}) to accept the gap, or empty the target tables too and ` +
          "start with snapshot: 'initial' to copy the source again",
      );
    }
  }

  private async resync(): Promise<void> {
    await this.d.connect();
    await this.d.ensureCheckpointTable(this.o.checkpointTable);
    const p = await this.d.readCheckpoint(this.o.checkpointTable, this.pipeline, this.o.name);
    this.checkpoint = p === null ? null : parsePositionId(p);
    this.tables.logger.debug('apply sink checkpoint read', { sink: this.o.name, position: p });
    this.tables.reset();
    this.needsResync = false;
  }

  private after(p: Position): boolean {
    return this.checkpoint === null || comparePositions(p, this.checkpoint) > 0;
  }

  async write(batch: Batch, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new WalstreamError(ErrorCode.SinkClosed, `sink ${this.o.name} is closed`);
    try {
      if (this.needsResync) await this.resync();
      // With a transaction open across batches, MySQL DDL would commit it half-way: only DDL-free changes pass.
      const ddl = this.overflow === null || this.d.transactionalDdl;
      for (const sc of batch.schemaChanges) await this.tables.onSchemaChange(sc, ddl);
      let events = batch.events.filter((e) => e.operation !== 'MESSAGE' && this.after(e.position));
      let commits = batch.commits.filter((c) => this.after(c.position));
      if (this.overflow !== null) {
        const lsn = this.overflow;
        const mine = events.filter((e) => e.position.lsn === lsn);
        events = events.filter((e) => e.position.lsn !== lsn);
        // Tables are described (never created) here: MySQL DDL would commit the open transaction half-way.
        for (const e of mine) await this.tables.forTable(e.schema, e.table, this.d.transactionalDdl);
        // Upserts only: the rows sent by earlier batches are gone, so this transaction could not be redone.
        await this.applyEvents(mine, null);
        const end = commits.find((c) => c.position.lsn === lsn);
        if (end === undefined) {
          await this.d.settle?.();
          return;
        }
        commits = commits.filter((c) => c !== end);
        await this.d.commitWithCheckpoint(this.o.checkpointTable, this.pipeline, this.o.name, positionId(end.position));
        this.overflow = null;
        this.checkpoint = end.position;
      }
      const work = this.pending.filter((e) => this.after(e.position)).concat(events);
      const units: Unit[] = [];
      let start = 0;
      for (const c of commits) {
        let end = start;
        // By position, not LSN: snapshot chunks are several commits at one LSN.
        while (end < work.length && comparePositions((work[end] as ChangeEvent).position, c.position) <= 0) end++;
        if (end > start) units.push({ events: work.slice(start, end), commit: c });
        start = end;
      }
      await this.prepareTables(work);
      for (let i = 0; i < units.length; i += this.o.transactionsPerCommit) {
        // Between target transactions an abort stops the write; what is committed stays (the checkpoint says so).
        if (signal?.aborted) throw new SinkError(`sink ${this.o.name}: write aborted`, { retriable: true });
        await this.applyGroup(units.slice(i, i + this.o.transactionsPerCommit));
      }
      this.pending = work.slice(start);
      let bytes = 0;
      for (const e of this.pending) bytes += estimateEventBytes(e);
      if (bytes > this.o.maxPendingBytes) {
        // Only the last source transaction can be open; stream it into a target transaction kept open.
        this.overflow = (this.pending[0] as ChangeEvent).position.lsn;
        await this.prepareTables(this.pending);
        await this.d.begin();
        await this.applyEvents(this.pending, null);
        // The write resolves only once the target has taken these rows (a pipelining dialect sent them unanswered).
        await this.d.settle?.();
        this.pending = [];
      }
    } catch (err) {
      throw await this.fail(err);
    }
  }

  /**
   * Describes (and creates) every table these events touch before a target transaction begins: DDL in MySQL
   * commits the open transaction implicitly, which would split a source transaction.
   */
  private async prepareTables(events: readonly ChangeEvent[]): Promise<void> {
    let schema: string | null = null;
    let table: string | null = null;
    for (const e of events) {
      if (e.schema === schema && e.table === table) continue;
      schema = e.schema;
      table = e.table;
      if (this.tables.known(schema, table) === undefined) await this.tables.forTable(schema, table);
    }
  }

  private async fail(err: unknown): Promise<WalstreamError> {
    this.needsResync = true;
    await this.d.rollback().catch(() => {});
    const retriable = this.d.isRetriable(err);
    if (retriable) await this.d.reset().catch(() => {});
    if (this.overflow !== null) {
      this.overflow = null;
      this.pending = [];
      return new ApplyError(
        ApplyErrorReason.Transaction,
        `sink ${this.o.name}: a source transaction larger than maxPendingBytes failed while applied across batches; restart the pipeline to replay it`,
        { cause: err },
      );
    }
    if (err instanceof WalstreamError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === 'string' ? ` [${e.code}]` : '';
    const msg = redactValues(typeof e?.message === 'string' ? e.message : 'non-error value thrown');
    return new SinkError(`sink ${this.o.name} (${this.d.kind})${code}: ${msg}`, { cause: err, retriable });
  }

  private async applyGroup(units: Unit[]): Promise<void> {
    const last = (units[units.length - 1] as Unit).commit;
    const position = positionId(last.position);
    this.transactions++;
    const inserted = this.d.insert === undefined ? null : new Set<string>();
    try {
      await this.runGroup(units, inserted, position);
    } catch (err) {
      if (inserted === null || inserted.size === 0 || !this.d.isDuplicateKey(err)) throw err;
      // A row taken for new was in the target already (a snapshot overlapping live changes, a target filled
      // beforehand). Nothing of this transaction committed: it is redone with upserts, which is what every
      // row would have been without plain INSERTs; a duplicate the upserts meet too fails as before.
      await this.d.rollback();
      const until = this.transactions + UPSERT_TRANSACTIONS_AFTER_CONFLICT;
      for (const table of inserted) this.upsertsUntil.set(table, until);
      this.tables.logger.debug('apply sink redoes a transaction with upserts (a plain insert met an existing key)', {
        sink: this.o.name,
        tables: [...inserted],
      });
      await this.runGroup(units, null, position);
    }
    this.checkpoint = last.position;
  }

  /** `inserted`: null for upserts only; else collects the source tables whose rows went out as plain INSERTs. */
  private async runGroup(units: Unit[], inserted: Set<string> | null, position: string): Promise<void> {
    await this.d.begin();
    for (const u of units) await this.applyEvents(u.events, inserted);
    await this.d.commitWithCheckpoint(this.o.checkpointTable, this.pipeline, this.o.name, position);
  }

  private async flushPlan(plan: TablePlan, source: string, inserted: Set<string> | null): Promise<void> {
    const plain = inserted !== null && (this.upsertsUntil.get(source) ?? 0) < this.transactions;
    try {
      await plan.flush(this.d, this.o.maxRowsPerStatement, plain);
    } finally {
      // Also when the INSERT itself failed (a dialect that awaits each statement).
      if (plan.inserts > 0) inserted?.add(source);
    }
  }

  private async applyEvents(events: readonly ChangeEvent[], inserted: Set<string> | null): Promise<void> {
    const plans = new Map<string, TablePlan>();
    const d = this.d;
    const o = this.o;
    // The table of the previous event: runs of one table's rows skip the lookup (a string key per row).
    let schema: string | null = null;
    let table: string | null = null;
    let t: ResolvedTable | null = null;
    let plan = null as unknown as TablePlan;
    for (const e of events) {
      if (e.schema !== schema || e.table !== table) {
        // Synchronous when known: an await per row was a measurable part of the engine's own time.
        t = this.tables.known(e.schema, e.table) ?? (await this.tables.forTable(e.schema, e.table));
        schema = e.schema;
        table = e.table;
        if (t !== null) {
          let p = plans.get(t.source);
          if (p === undefined) {
            p = new TablePlan(t.target);
            plans.set(t.source, p);
          }
          plan = p;
        }
      }
      if (t === null) continue;
      switch (e.operation) {
        case 'TRUNCATE':
          plan.truncateAll();
          break;
        case 'DELETE': {
          const kv = keyValues(d, o, t, e.key, e.before, e);
          plan.delete(keyString(kv), kv);
          break;
        }
        case 'UPDATE': {
          const row = convertRow(d, o, t, e);
          const kv = keyOfConverted(t, row) ?? keyValues(d, o, t, e.after, e.key, e);
          const ks = keyString(kv);
          const old = e.before ? keyValues(d, o, t, e.before, e.key, e) : kv;
          const oldKs = keyString(old);
          if (oldKs === ks) {
            plan.write(ks, kv, row);
            break;
          }
          let moved = row;
          if (!row.full) {
            const prev = plan.rowFor(oldKs);
            if (prev?.full) {
              moved = mergeRows(prev, row, true);
            } else {
              // The unchanged columns live only in the target's old row: move that row in place.
              await this.flushPlan(plan, t.source, inserted);
              const n = await this.d.updateByKey(t.target, old, row.columns, row.values);
              if (n !== 1) {
                throw new ApplyError(
                  ApplyErrorReason.Target,
                  `${t.label}: the row whose key changed at ${e.id} is missing in the target, and its unchanged columns are only there`,
                );
              }
              break;
            }
          }
          plan.delete(oldKs, old);
          plan.write(ks, kv, moved);
          break;
        }
        default: {
          // INSERT and READ (snapshot rows): an upsert, so a snapshot overlapping live changes converges.
          const row = convertRow(d, o, t, e);
          const kv = keyOfConverted(t, row) ?? keyValues(d, o, t, e.after, e.key, e);
          plan.insert(keyString(kv), kv, row);
        }
      }
      if (t.target.ordered) await this.flushPlan(plan, t.source, inserted);
    }
    for (const [source, plan] of plans) await this.flushPlan(plan, source, inserted);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.overflow !== null) await this.d.rollback().catch(() => {});
    await this.d.close();
  }
}
