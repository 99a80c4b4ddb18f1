/**
 * Coalesces a stream of signals ("an event arrived") into few calls of `flush`:
 *
 * - a signal after a quiet period (none in the last `windowMs`, no flush in the last
 *   `4 × windowMs`) is flushed on the next turn of the event loop: a lone event waits for nothing
 *   (the signals of the same read still join it), and a storm arriving in chunks still costs no
 *   more flushes than one per gap;
 * - a signal within `windowMs` of the previous one opens a burst window of `windowMs`; each
 *   further signal extends it;
 * - the burst is flushed when the window passes quietly, or at the latest `maxDelayMs` after its
 *   first signal;
 * - while a storm goes on (a burst ended by the maximum delay rather than a quiet window), the
 *   next burst may run twice as long, up to `stormMaxDelayMs`, so that a long storm costs a handful
 *   of flushes a second; the first quiet window brings the maximum back to `maxDelayMs`.
 *
 * So a lone event is flushed at once, and 1,000 events spread over a second cost about five
 * flushes. One timer at a time, and no timer work per signal.
 */

export interface CoalescerOptions {
  readonly windowMs: number;
  readonly maxDelayMs: number;
  readonly stormMaxDelayMs: number;
  readonly flush: () => void;
  readonly now?: () => number;
}

export class Coalescer {
  readonly #o: CoalescerOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #burstStartedAt = 0;
  #lastSignalAt = Number.NEGATIVE_INFINITY;
  #lastFlushAt = Number.NEGATIVE_INFINITY;
  #maxDelay: number;

  constructor(options: CoalescerOptions) {
    this.#o = options;
    // Monotonic: a wall-clock step must not freeze or rush the table.
    this.#now = options.now ?? (() => performance.now());
    this.#maxDelay = options.maxDelayMs;
  }

  /** Maximum delay of the current (or next) burst. */
  get maxDelayMs(): number {
    return this.#maxDelay;
  }

  signal(): void {
    const now = this.#now();
    const quiet = now - this.#lastSignalAt >= this.#o.windowMs && now - this.#lastFlushAt >= 4 * this.#o.windowMs;
    this.#lastSignalAt = now;
    if (this.#timer || this.#immediate) return;
    if (quiet) {
      this.#immediate = setImmediate(this.#onImmediate);
      return;
    }
    this.#burstStartedAt = now;
    this.#timer = setTimeout(this.#onTimer, this.#o.windowMs);
  }

  /** Flush now (if a burst is open), without waiting for its window. */
  flushNow(): void {
    if (!this.#timer && !this.#immediate) return;
    this.cancel();
    this.#flush();
  }

  cancel(): void {
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    this.#flush();
  };

  #flush(): void {
    this.#lastFlushAt = this.#now();
    this.#o.flush();
  }

  readonly #onTimer = (): void => {
    const now = this.#now();
    const quietFor = now - this.#lastSignalAt;
    const burstAge = now - this.#burstStartedAt;
    if (quietFor < this.#o.windowMs && burstAge < this.#maxDelay) {
      const wait = Math.min(this.#o.windowMs - quietFor, this.#maxDelay - burstAge);
      this.#timer = setTimeout(this.#onTimer, Math.max(1, wait));
      return;
    }
    this.#timer = undefined;
    // A burst cut off by the maximum delay is a storm: let the next one run longer.
    this.#maxDelay = quietFor < this.#o.windowMs ? Math.min(this.#o.stormMaxDelayMs, this.#maxDelay * 2) : this.#o.maxDelayMs;
    this.#flush();
  };
}
