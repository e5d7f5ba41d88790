/**
 * Cuts the reader's items into batches (events, bytes, time) and carries transaction ends in-band: a `commit`
 * item, or (for readers that send none) the first event of a transaction at a HIGHER commit LSN. An event at
 * a lower LSN (a third-party reader replaying after a reconnect) never ends the open transaction, so nothing is
 * confirmed in the middle of one.
 *
 * Where a batch ends inside a source transaction does not depend on timing or on what came before the
 * transaction (readers that send commit markers): a full or timed-out batch is cut at a transaction end or at a
 * slice boundary, event index `k * maxEvents`. A restart therefore cuts a replayed transaction where the first run
 * did, and sinks that name their output after what it holds (webhook-ids) repeat the same names.
 * Only the pipeline's memory guard (an open slice larger than maxInFlightBytes) or a stop cuts inside a slice.
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
  /** A check on the next turn of the event loop for a batch that holds only commits (see addCommit). */
  private bare: ReturnType<typeof setImmediate> | null = null;
  seq = 0;

  // The source transaction being read, to close it when a later one starts without a commit marker.
  private txnLsn: bigint | null = null;
  /** Transaction ends come as commit items: declared by the reader, or learnt from the first one. */
  private commitMarkers: boolean;
  private txnLast: Position | null = null;
  private txnCount = 0;
  private txnId = '';
  private txnTs = '';
  private lastCheckpoint: Position | null = null;
  /** Events of the open source transaction in the open batch, and the slice (index / maxEvents) of the last one. */
  private txnInBatch = 0;
  private txnSlice = -1;
  /** The open batch is full or its time is up, but it ends inside a slice: cut at the slice's end. */
  private due = false;

  received: Position | null = null;
  eventsIn = 0;
  eventsDropped = 0;
  lastHeartbeatAt: string | null = null;

  constructor(
    private readonly o: Pick<ResolvedPipelineOptions, 'batch' | 'transform'>,
    /** Receives each cut batch. */
    private readonly onBatch: (batch: Batch) => void,
    /** The reader declares commit markers (LogReader.commitMarkers): transaction ends are known before the first. */
    commitMarkers = false,
  ) {
    this.commitMarkers = commitMarkers;
  }

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

  /**
   * Hands the open batch to `onBatch` where a restart would cut it too; inside a slice of the open transaction it
   * only marks the batch due (cut at the slice's end). Returns whether nothing is left open.
   */
  cut(): boolean {
    if (this.insideSlice) {
      this.due = true;
      return false;
    }
    this.flush();
    return true;
  }

  /**
   * Takes the open transaction's events out of the open batch (a stop that could not wait for its end): no sink gets
   * rows that will not be confirmed, and the reader sends them again after a restart. Returns their bytes.
   */
  dropOpenTransaction(): number {
    if (!this.inTransaction || this.txnInBatch === 0) return 0;
    const dropped = this.events.splice(this.events.length - this.txnInBatch);
    let bytes = 0;
    for (const e of dropped) bytes += estimateEventBytes(e);
    this.openBytes -= bytes;
    this.txnInBatch = 0;
    return bytes;
  }

  /** Bytes of the open batch. */
  get bytes(): number {
    return this.openBytes;
  }

  /** Hands the open batch to `onBatch` (if it holds anything), wherever it ends. */
  flush(): void {
    this.clearTimer();
    this.due = false;
    this.txnInBatch = 0;
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
    if (this.bare !== null) {
      clearImmediate(this.bare);
      this.bare = null;
    }
  }

  private acceptEvent(e: ChangeEvent): number {
    const lsn = e.position.lsn;
    if (this.txnLsn === null || lsn > this.txnLsn) {
      // A later transaction started without a commit marker for the previous one: that one is complete.
      if (this.txnLsn !== null) this.closeTransaction();
      if (this.due) this.flush();
      this.txnInBatch = 0;
      this.txnSlice = -1;
      this.txnLsn = lsn;
      this.txnLast = e.position;
      this.txnCount = 0;
      this.txnId = e.transactionId;
      this.txnTs = e.timestamp;
    } else if (lsn === this.txnLsn && comparePositions(e.position, this.txnLast as Position) > 0) {
      this.txnLast = e.position;
    }
    if (lsn === this.txnLsn) this.txnCount++;
    // A due batch ends where the open transaction's next slice begins.
    const slice = Math.floor(e.position.index / this.o.batch.maxEvents);
    if (this.due && this.insideSlice && lsn === this.txnLsn && slice !== this.txnSlice) this.flush();
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
    if (lsn === this.txnLsn) {
      this.txnInBatch++;
      this.txnSlice = slice;
    }
    const full = this.events.length >= this.o.batch.maxEvents || this.openBytes >= this.o.batch.maxBytes;
    // The slice's last index: nothing more of it can come, so a due batch need not wait for the next event.
    const sliceEnds = e.position.index % this.o.batch.maxEvents === this.o.batch.maxEvents - 1;
    if ((full || this.due) && (!this.insideSlice || sliceEnds)) this.flush();
    else if (full) this.due = true;
    else if (this.timer === null) this.armTimer();
    return size;
  }

  /**
   * A source transaction has events here and its commit marker has not come yet. Only for readers that send
   * commit markers: without them a transaction's end is known only when the next one starts.
   */
  get inTransaction(): boolean {
    return this.commitMarkers && this.txnLsn !== null;
  }

  /** The open batch ends inside a slice of the open transaction (only known with commit markers). */
  private get insideSlice(): boolean {
    return this.inTransaction && this.txnInBatch > 0;
  }

  private acceptCommit(c: TransactionCommit): void {
    this.commitMarkers = true;
    if (this.txnLsn !== null && this.txnLsn <= c.position.lsn) {
      this.txnLsn = null;
      this.txnInBatch = 0;
    }
    if (this.received === null || comparePositions(c.position, this.received) > 0) this.received = c.position;
    this.addCommit(c);
    if (this.due) this.flush();
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
    // A commit that opens a batch (the batch before was cut full at the transaction's last event): its events are
    // out already, so waiting maxWaitMs for more only delays the confirmation (at the end of a catch-up, by the
    // whole maxWaitMs). Unless reading goes on in this turn and events join it, it goes out on the next turn.
    if (this.events.length === 0 && this.schemaChanges.length === 0 && this.bare === null) {
      this.bare = setImmediate(() => {
        this.bare = null;
        if (this.events.length === 0 && this.schemaChanges.length === 0 && this.commits.length > 0) this.cut();
      });
    }
  }

  private armTimer(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.cut();
    }, this.o.batch.maxWaitMs);
  }
}
