/**
 * The proxy's log lines about its service-port listeners opening or failing to bind, gathered over
 * one turn of the event loop: when a few open (or fail) together, one line each, as before; when
 * many do, one line for all of them, naming the first few. A first table of 10,000 apps opened
 * 10,000 listeners, 10,000 lines (about 120 ms of the loop after the sync); 10,000 ports taken by
 * another program logged 10,000 errors at every bind retry (every 2 s).
 */
import type { Logger } from '../log.ts';

/** At most this many listeners get a line of their own per turn; beyond that, one line for all. */
export const MAX_LISTENER_LINES = 20;

export interface ListenerOpened {
  readonly listener: string;
  readonly service: string;
  readonly mode?: string;
}

export interface ListenerFailed {
  readonly listener: string;
  readonly service: string;
  readonly reason: string;
}

export class ListenerLog {
  readonly #logger: Logger;
  #opened: ListenerOpened[] = [];
  #failed: ListenerFailed[] = [];
  #scheduled = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  opened(entry: ListenerOpened): void {
    this.#opened.push(entry);
    this.#schedule();
  }

  failed(entry: ListenerFailed): void {
    this.#failed.push(entry);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Write what was gathered (called on the next turn; tests call it directly). */
  flush(): void {
    this.#scheduled = false;
    const opened = this.#opened;
    const failed = this.#failed;
    this.#opened = [];
    this.#failed = [];
    if (opened.length > MAX_LISTENER_LINES) {
      this.#logger.info({ count: opened.length, listeners: opened.slice(0, MAX_LISTENER_LINES).map((o) => o.listener) }, 'listeners open');
    } else for (const o of opened) this.#logger.info(o, 'listener open');
    if (failed.length > MAX_LISTENER_LINES) {
      const reasons: Record<string, number> = {};
      for (const f of failed) reasons[f.reason] = (reasons[f.reason] ?? 0) + 1;
      this.#logger.error(
        { count: failed.length, reasons, listeners: failed.slice(0, MAX_LISTENER_LINES).map((f) => `${f.listener} ${f.reason}`) },
        'cannot listen on service ports; other services are unaffected',
      );
    } else for (const f of failed) this.#logger.error(f, 'cannot listen on a service port; other services are unaffected');
  }
}
