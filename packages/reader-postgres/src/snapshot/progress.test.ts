import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnapshotProgress } from './progress.js';

describe('SnapshotProgress', () => {
  afterEach(() => vi.useRealTimers());

  it('estimates the time left from the rate, and says it does not know once a table outgrows its estimate', () => {
    vi.useFakeTimers();
    const p = new SnapshotProgress();
    p.start('s', 'public.t', 1000);
    vi.advanceTimersByTime(1000);
    p.add('s', 'public.t', 500);
    expect(p.list()[0]).toMatchObject({ state: 'copying', rowsDone: 500, rowsPerSecond: 500, etaMs: 1000 });
    vi.advanceTimersByTime(1000);
    p.add('s', 'public.t', 700); // an estimate is not a count: 1200 of "1000"
    expect(p.list()[0]?.etaMs).toBeNull();
    p.finish('s', 'public.t');
    expect(p.list()[0]).toMatchObject({ state: 'done', rowsDone: 1200, etaMs: 0 });
  });

  it('has no time left to tell without an estimate', () => {
    vi.useFakeTimers();
    const p = new SnapshotProgress();
    p.start('s', 'public.t', null);
    vi.advanceTimersByTime(1000);
    p.add('s', 'public.t', 10);
    expect(p.list()[0]?.etaMs).toBeNull();
  });
});
