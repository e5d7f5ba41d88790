/**
 * Cuts the reader's items into batches (events, bytes, time) and carries transaction ends in-band: a `commit`
 * item, or (for readers that send none) the first event of a transaction at a HIGHER commit LSN. An event at
 * a lower LSN (a third-party reader replaying after a reconnect) never ends the open transaction, so nothing is
 * confirmed in the middle of one.
 */
import { ErrorCode, WalstreamError } from './errors.js';
import type { Batch, ChangeEvent, ReaderItem, SchemaChange, TransactionCommit } from './event.js';
import type { ResolvedPipelineOptions } from './pipeline-config.js';
import { comparePositions, type Position } from './position.js';
import { estimateEventBytes } from './size.js';

export class Batcher {
  private events: ChangeEvent[] = [];
  private commits: TransactionCommit[] = [];
  private schemaChanges: SchemaChange[] = [];
  private openBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  seq = 0;

  // The source transaction being read, to close it when a later one starts without a commit marker.
  private txnLsn: bigint | null = null;
  private sawCommit = false;
  private txnLast: Position | null = null;
  private txnCount = 0;
  private txnId = '';
  private txnTs = '';
  private lastCheckpoint: Position | null = null;

  received: Position | null = null;
  eventsIn = 0;
  eventsDropped = 0;
  lastHeartbeatAt: string | null = null;

  constructor(
    private readonly o: Pick<ResolvedPipelineOptions, 'batch' | 'transform'>,
    /** Receives each cut batch. */
    private readonly onBatch: (batch: Batch) => void,
  ) {}

  /** Takes one reader item; returns the bytes it added to the open batch. */
  accept(item: ReaderItem): number {
    switch ((item as { kind?: string }).kind) {
      case undefined:
        return this.acceptEvent(item as ChangeEvent);
      case 'commit':
        this.acceptCommit(item as TransactionCommit);
        return 0;
      case 'schema':
        this.schemaChanges.push(item as SchemaChange);
        this.armTimer();
        return 0;
      case 'heartbeat':
        this.lastHeartbeatAt = (item as { timestamp: string }).timestamp;
        return 0;
      default:
        throw new WalstreamError(ErrorCode.Reader, 'reader yielded an item of unknown kind');
    }
  }

  /** Hands the open batch to `onBatch` (if it holds anything). */
  flush(): void {
    this.clearTimer();
    if (this.events.length === 0 && this.commits.length === 0 && this.schemaChanges.length === 0) return;
    const batch: Batch = {
      seq: ++this.seq,
      events: this.events,
      commits: this.commits,
      schemaChanges: this.schemaChanges,
      bytes: this.openBytes,
    };
    this.events = [];
    this.commits = [];
    this.schemaChanges = [];
    this.openBytes = 0;
    this.onBatch(batch);
  }

  clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private acceptEvent(e: ChangeEvent): number {
    const lsn = e.position.lsn;
    if (this.txnLsn === null || lsn > this.txnLsn) {
      // A later transaction started without a commit marker for the previous one: that one is complete.
      if (this.txnLsn !== null) this.closeTransaction();
      this.txnLsn = lsn;
      this.txnLast = e.position;
      this.txnCount = 0;
      this.txnId = e.transactionId;
      this.txnTs = e.timestamp;
    } else if (lsn === this.txnLsn && comparePositions(e.position, this.txnLast as Position) > 0) {
      this.txnLast = e.position;
    }
    if (lsn === this.txnLsn) this.txnCount++;
    if (this.received === null || comparePositions(e.position, this.received) > 0) this.received = e.position;
    this.eventsIn++;
    const t = this.o.transform === undefined ? e : this.o.transform(e);
    if (t === null) {
      this.eventsDropped++;
      return 0;
    }
    const size = estimateEventBytes(t);
    this.events.push(t);
    this.openBytes += size;
    if (this.events.length >= this.o.batch.maxEvents || this.openBytes >= this.o.batch.maxBytes) this.flush();
    else if (this.timer === null) this.armTimer();
    return size;
  }

  /**
   * A source transaction has events here and its commit marker has not come yet. Only for readers that send
   * commit markers: without them a transaction's end is known only when the next one starts.
   */
  get inTransaction(): boolean {
    return this.sawCommit && this.txnLsn !== null;
  }

  private acceptCommit(c: TransactionCommit): void {
    this.sawCommit = true;
    if (this.txnLsn !== null && this.txnLsn <= c.position.lsn) this.txnLsn = null;
    if (this.received === null || comparePositions(c.position, this.received) > 0) this.received = c.position;
    this.addCommit(c);
  }

  private closeTransaction(): void {
    this.txnLsn = null;
    this.addCommit({
      kind: 'commit',
      position: this.txnLast as Position,
      transactionId: this.txnId,
      timestamp: this.txnTs,
      eventCount: this.txnCount,
    });
  }

  private addCommit(c: TransactionCommit): void {
    // A replayed transaction (reader reconnect) is delivered again but is no new checkpoint.
    if (this.lastCheckpoint !== null && comparePositions(c.position, this.lastCheckpoint) <= 0) return;
    this.lastCheckpoint = c.position;
    this.commits.push(c);
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.o.batch.maxWaitMs);
  }
}
