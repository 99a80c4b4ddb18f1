/**
 * Connection limits of the proxy's TCP-side listeners (service ports and the shared virtual-host
 * listeners), as marathon-lb's template had them: `maxconn` per frontend (`defaults`, 10,000) and
 * for the whole process (`global`, 50,000). HAProxy leaves connections beyond the limit in the
 * kernel's accept queue, where they wait unseen; pacer accepts and refuses them at once, so the
 * client learns why and the operator sees it: a plain-HTTP listener answers
 * `503 Service Unavailable` with a one-line reason, a TCP or TLS one closes the connection; each
 * refusal is counted (`pacer_proxy_connections_refused_total`) and logged (at most once per
 * listener every 10 s). The counts are per process: with `--workers N` every worker has its own.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { closingResponse } from './http/headers.ts';

export interface ConnectionLimitSettings {
  /** Client connections open at once on one listener. */
  readonly perPort: number;
  /** Client connections open at once on all the proxy's listeners of this process. */
  readonly total: number;
}

type LimitReached = 'listener' | 'total';

const WARN_EVERY_MS = 10_000;
/** How long a refused plain-HTTP client may keep sending its request before it is cut. */
const REFUSED_LINGER_MS = 1_000;

/** The process-wide budget, shared by every listener. */
export class ConnectionBudget {
  readonly #settings: ConnectionLimitSettings;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #lastWarning = new Map<string, number>();
  /** Client connections open now on all listeners. */
  #open = 0;

  constructor(settings: ConnectionLimitSettings, metrics: Metrics, logger: Logger) {
    this.#settings = settings;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /**
   * Admit `socket` on `listener` (which has `listenerOpen` connections besides it), or refuse it:
   * counted, logged, answered, closed. An admitted socket holds its place until it closes.
   */
  admit(socket: Socket, listener: string, listenerOpen: number, plainHttp: boolean): boolean {
    const reached: LimitReached | undefined =
      listenerOpen >= this.#settings.perPort ? 'listener' : this.#open >= this.#settings.total ? 'total' : undefined;
    if (reached === undefined) {
      this.#open++;
      this.#metrics.proxyConnections.inc();
      socket.once('close', () => {
        this.#open--;
        this.#metrics.proxyConnections.dec();
      });
      return true;
    }
    this.#refuse(socket, listener, reached, plainHttp);
    return false;
  }

  #refuse(socket: Socket, listener: string, reached: LimitReached, plainHttp: boolean): void {
    this.#metrics.proxyConnectionsRefused.inc({ listener, limit: reached });
    const limit = reached === 'listener' ? this.#settings.perPort : this.#settings.total;
    const reason =
      reached === 'listener'
        ? `connection limit reached: ${limit} open on ${listener} (--max-connections-per-port)`
        : `connection limit reached: ${limit} open on all listeners (--max-connections)`;
    const now = Date.now();
    if (now - (this.#lastWarning.get(listener) ?? 0) >= WARN_EVERY_MS) {
      this.#lastWarning.set(listener, now);
      this.#logger.warn({ listener, limit: reached, max: limit }, `refusing connections: ${reason}`);
    }
    socket.on('error', () => undefined);
    if (!plainHttp) {
      socket.destroy();
      return;
    }
    const body = `pacer: ${reason}\n`;
    socket.end(closingResponse(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }, body));
    // Read (and drop) what the client sends meanwhile, so that closing does not reset the
    // connection under the answer; a client that keeps talking is cut.
    socket.on('data', () => undefined);
    socket.once('end', () => socket.destroy());
    socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
    socket.resume();
  }
}
