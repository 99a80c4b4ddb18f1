/**
 * Coalesces a stream of signals ("an event arrived") into few calls of `flush`:
 *
 * - the first signal of a burst opens a window of `windowMs`; each further signal extends it;
 * - the burst is flushed when the window passes quietly, or at the latest `maxDelayMs` after its
 *   first signal;
 * - while a storm goes on (a burst ended by the maximum delay rather than a quiet window), the
 *   next burst may run twice as long, up to `stormMaxDelayMs`, so that a long storm costs a handful
 *   of flushes a second; the first quiet window brings the maximum back to `maxDelayMs`.
 *
 * So a lone event is flushed after `windowMs`, and 1,000 events spread over a second cost about
 * five flushes. One timer at a time, and no timer work per signal.
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
  #burstStartedAt = 0;
  #lastSignalAt = 0;
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
    this.#lastSignalAt = now;
    if (this.#timer) return;
    this.#burstStartedAt = now;
    this.#timer = setTimeout(this.#onTimer, this.#o.windowMs);
  }

  /** Flush now (if a burst is open), without waiting for its window. */
  flushNow(): void {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#o.flush();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
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
    this.#o.flush();
  };
}
