import { describe, expect, it } from 'vitest';
import { TimeSlice } from './time-slice.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe('TimeSlice', () => {
  it('is spent once its budget of synchronous work is used, and fresh after a turn', async () => {
    const slice = new TimeSlice(5);
    expect(slice.spent()).toBe(false);
    busy(6);
    expect(slice.spent()).toBe(true);
    await slice.yieldTurn();
    expect(slice.spent()).toBe(false);
    busy(6);
    slice.restart();
    expect(slice.spent()).toBe(false);
  });

  it('yieldTurn lets pending I/O callbacks and timers run', async () => {
    const slice = new TimeSlice(1);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await slice.yieldTurn();
    expect(ran).toBe(true);
  });
});
