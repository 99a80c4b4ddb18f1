import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from '../../src/marathon/coalescer.ts';

describe('Coalescer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function make() {
    const flushes: number[] = [];
    const c = new Coalescer({ windowMs: 5, maxDelayMs: 50, stormMaxDelayMs: 250, flush: () => flushes.push(Date.now()) });
    return { c, flushes };
  }

  it('flushes a lone event after the window', () => {
    const { c, flushes } = make();
    const t0 = Date.now();
    c.signal();
    vi.advanceTimersByTime(4);
    expect(flushes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushes).toEqual([t0 + 5]);
  });

  it('extends the window while events keep coming, up to the maximum delay', () => {
    const { c, flushes } = make();
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      c.signal();
      vi.advanceTimersByTime(1);
    }
    // one event every ms: cut off at 50 ms, then the storm doubles the limit to 100 ms
    expect(flushes[0]).toBe(t0 + 50);
    expect(c.maxDelayMs).toBe(100);
  });

  it('folds 1,000 events spread over a second into a handful of flushes', () => {
    const { c, flushes } = make();
    for (let i = 0; i < 1000; i++) {
      c.signal();
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(300);
    expect(flushes.length).toBeGreaterThanOrEqual(4);
    expect(flushes.length).toBeLessThanOrEqual(7);
  });

  it('returns to the short maximum once a window passes quietly', () => {
    const { c, flushes } = make();
    for (let i = 0; i < 200; i++) {
      c.signal();
      vi.advanceTimersByTime(1);
    }
    expect(c.maxDelayMs).toBeGreaterThan(50);
    vi.advanceTimersByTime(300);
    const n = flushes.length;
    c.signal();
    vi.advanceTimersByTime(5);
    expect(flushes.length).toBe(n + 1);
    expect(c.maxDelayMs).toBe(50);
  });

  it('flushNow flushes an open burst at once, and cancel drops the timer', () => {
    const { c, flushes } = make();
    c.flushNow();
    expect(flushes).toHaveLength(0);
    c.signal();
    c.flushNow();
    expect(flushes).toHaveLength(1);
    c.signal();
    c.cancel();
    vi.advanceTimersByTime(100);
    expect(flushes).toHaveLength(1);
  });
});
