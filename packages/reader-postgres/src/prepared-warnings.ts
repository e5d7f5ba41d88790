/** A warning, once per prepared transaction, when one has held confirmation back longer than a threshold. */
import { formatLsn, type Logger } from '@walstream/core';
import type { PendingPrepared } from './change-decoder.js';

export class PreparedWarnings {
  private readonly warned = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly thresholdMs: number,
    private readonly slot: string,
  ) {}

  /** Warns about each of `pending` older than the threshold and not warned about yet. */
  check(pending: readonly PendingPrepared[], now = Date.now()): void {
    for (const p of pending) {
      const ageMs = now - p.preparedAtMs;
      if (ageMs < this.thresholdMs || this.warned.has(p.gid)) continue;
      this.warned.add(p.gid);
      this.log.warn(
        'a prepared transaction holds confirmation back (orphaned? COMMIT PREPARED or ROLLBACK PREPARED it)',
        { gid: p.gid, ageMs, prepareLsn: formatLsn(p.prepareLsn), slot: this.slot },
      );
    }
  }
}
