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

  it('flushes a lone event on the next turn of the event loop, with the signals of the same turn', () => {
    const { c, flushes } = make();
    const t0 = Date.now();
    c.signal();
    c.signal();
    c.signal();
    expect(flushes).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(flushes).toEqual([t0]);
    // Another lone event, 25 ms later (quiet for 5 windows): at once again.
    vi.advanceTimersByTime(25);
    c.signal();
    vi.advanceTimersByTime(0);
    expect(flushes).toEqual([t0, t0 + 25]);
    // One 10 ms after that flush (quiet, but within 4 windows of it): through a window, so that
    // a storm arriving in chunks is not flushed twice per chunk.
    vi.advanceTimersByTime(10);
    c.signal();
    vi.advanceTimersByTime(4);
    expect(flushes).toEqual([t0, t0 + 25]);
    vi.advanceTimersByTime(1);
    expect(flushes).toEqual([t0, t0 + 25, t0 + 40]);
  });

  it('coalesces the events that follow an immediate flush within the window', () => {
    const { c, flushes } = make();
    const t0 = Date.now();
    c.signal();
    vi.advanceTimersByTime(1);
    expect(flushes).toEqual([t0]);
    c.signal(); // 1 ms after the last signal: a burst
    vi.advanceTimersByTime(2);
    c.signal();
    vi.advanceTimersByTime(4);
    expect(flushes).toEqual([t0]);
    vi.advanceTimersByTime(1);
    expect(flushes).toEqual([t0, t0 + 8]);
  });

  it('extends the window while events keep coming, up to the maximum delay', () => {
    const { c, flushes } = make();
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      c.signal();
      vi.advanceTimersByTime(1);
    }
    // one event every ms: the first at once, the burst after it cut off at 50 ms, then the storm
    // doubles the limit to 100 ms
    expect(flushes[0]).toBe(t0);
    expect(flushes[1]).toBe(t0 + 51);
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
