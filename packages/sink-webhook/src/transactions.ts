/**
 * Cuts a batch into webhook requests by source transaction: a request holds the events of one transaction whose
 * indexes fall in one slice `k*N .. k*N+N-1` (N = maxEventsPerRequest). Only a batch boundary inside a slice splits it
 * further; nothing is held back across writes, so a resolved write has delivered every event of its batch.
 */
import type { ChangeEvent } from '@walstream/core';

export function requestsOf(events: readonly ChangeEvent[], perRequest: number): ChangeEvent[][] {
  const requests: ChangeEvent[][] = [];
  let current: ChangeEvent[] = [];
  let slice = '';
  for (const e of events) {
    const s = `${e.position.lsn}:${Math.floor(e.position.index / perRequest)}`;
    if (s !== slice && current.length > 0) {
      requests.push(current);
      current = [];
    }
    slice = s;
    current.push(e);
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
