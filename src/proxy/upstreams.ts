/**
 * The upstream side of one service (Envoy's cluster): its backends as `Upstream` objects kept
 * across table versions by key (so `active` counters and pooled connections survive a new table),
 * which of them take new traffic, draining, and passive outlier detection.
 *
 * - **Routable** backends (running, healthy) take new traffic.
 * - **Draining**: a backend that is `TASK_KILLING` or left the table takes no new traffic; what is
 *   in flight finishes, for at most the drain timeout, then is cut. It is forgotten once idle.
 *   An unhealthy backend also takes no new traffic, but keeps its connections (it may recover).
 * - **Outliers**: `ejectAfter` failures in a row eject a backend for a backoff period
 *   (`ejectBaseMs`, doubling per ejection in a row up to `ejectMaxMs`); it is then readmitted on
 *   probation (one more failure ejects it again). A failure is a failed connect (refused, timed
 *   out: `connectFailed`) or, in HTTP mode, an exchange the backend broke before any response
 *   byte (no byte within the idle timeout, a fresh connection closed or reset: `responseFailed`,
 *   Envoy's "consecutive gateway failures"). A response head (HTTP) or a connect (TCP) resets the
 *   count. If every routable backend is ejected they are all used anyway (Envoy's "panic mode"):
 *   a guess beats a certain 503.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import type { Backend } from '../model/routing-table.ts';
import type { Balancer, PickContext, Upstream } from './balancer.ts';
import { UpstreamPool } from './http/client.ts';
import type { BackendMetrics, ServiceMetrics } from './metrics.ts';

export interface UpstreamTimeouts {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly ejectAfter: number;
  readonly ejectBaseMs: number;
  readonly ejectMaxMs: number;
}

export class UpstreamState implements Upstream {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** `address:port`, the metric label and log name. */
  readonly name: string;
  /** Value of the sticky cookie that names this backend (stable across pacer instances). */
  readonly cookie: string;
  active = 0;
  /** In the table and routable. */
  routable = false;
  /** Draining or gone from the table: forgotten once idle, cut after the drain timeout. */
  retired = false;
  failures = 0;
  ejections = 0;
  ejected = false;
  /** Downstream-upstream socket pairs in flight (TCP mode), for the drain timeout. */
  readonly sockets = new Set<Socket>();
  readonly metrics: BackendMetrics;
  #pool: UpstreamPool | undefined;
  /** Pools closed by `closeIdle()` whose busy connections still finish: `destroy()` cuts them. */
  readonly #closing = new Set<UpstreamPool>();
  #timeouts: UpstreamTimeouts;
  drainTimer: NodeJS.Timeout | undefined;
  ejectTimer: NodeJS.Timeout | undefined;

  constructor(key: string, address: string, port: number, metrics: BackendMetrics, timeouts: UpstreamTimeouts) {
    this.key = key;
    this.address = address;
    this.port = port;
    this.name = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.cookie = cookieValue(this.name);
    this.metrics = metrics;
    this.#timeouts = timeouts;
  }

  /** The keep-alive connection pool to this backend (HTTP mode), created on first use. */
  get pool(): UpstreamPool {
    this.#pool ??= new UpstreamPool(this.address, this.port, {
      connectTimeoutMs: this.#timeouts.connectTimeoutMs,
      idleTimeoutMs: this.#timeouts.idleTimeoutMs,
      keepAliveMs: 4_000,
    });
    return this.#pool;
  }

  /** Cut everything in flight and release the pool. */
  destroy(): void {
    const cut = new Error('drain timeout');
    for (const s of this.sockets) s.destroy(cut);
    this.sockets.clear();
    const pool = this.#pool;
    this.#pool = undefined;
    pool?.destroy();
    for (const p of this.#closing) p.destroy();
    this.#closing.clear();
  }

  /** Let in-flight requests finish, then release the pool. */
  closeIdle(): void {
    for (const p of this.#closing) if (p.size === 0) this.#closing.delete(p);
    const pool = this.#pool;
    this.#pool = undefined;
    if (!pool) return;
    pool.close();
    if (pool.size > 0) this.#closing.add(pool);
  }
}

/** A short stable id for the sticky cookie (FNV-1a of `address:port`, base 36). */
function cookieValue(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

function backendKey(b: Backend): string {
  return `${b.taskId}@${b.address}:${b.port}`;
}

export class UpstreamSet {
  readonly #all = new Map<string, UpstreamState>();
  readonly #timeouts: UpstreamTimeouts;
  readonly #metrics: ServiceMetrics;
  readonly #logger: Logger;
  readonly #service: string;
  /** Takes new traffic: routable, not retired, not ejected. */
  #picks: UpstreamState[] = [];
  /** Routable but ejected: the panic-mode fallback. */
  #ejected: UpstreamState[] = [];
  #byCookie = new Map<string, UpstreamState>();
  #closed = false;

  constructor(service: string, metrics: ServiceMetrics, timeouts: UpstreamTimeouts, logger: Logger) {
    this.#service = service;
    this.#metrics = metrics;
    this.#timeouts = timeouts;
    this.#logger = logger;
  }

  /** Backends that take new traffic now. */
  get picks(): readonly UpstreamState[] {
    return this.#picks;
  }

  get size(): number {
    return this.#all.size;
  }

  all(): IterableIterator<UpstreamState> {
    return this.#all.values();
  }

  /** Take the backends of a new table version. */
  update(backends: readonly Backend[]): void {
    const seen = new Set<string>();
    for (const b of backends) {
      const key = backendKey(b);
      seen.add(key);
      let u = this.#all.get(key);
      if (!u) {
        const name = b.address.includes(':') ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`;
        u = new UpstreamState(key, b.address, b.port, this.#metrics.backend(name), this.#timeouts);
        this.#all.set(key, u);
      }
      u.routable = b.routable && !b.draining;
      if (b.draining) this.#retire(u);
      else this.#unretire(u);
    }
    for (const [key, u] of this.#all) if (!seen.has(key)) this.#retire(u);
    this.#rebuild();
  }

  /** Pick a backend for new traffic. */
  pick(balancer: Balancer, context: PickContext, exclude?: ReadonlySet<string>): UpstreamState | undefined {
    const list = this.#picks.length > 0 ? this.#picks : this.#ejected;
    if (list.length === 0) return undefined;
    return balancer.pick(list, context, exclude) as UpstreamState | undefined;
  }

  /** The backend a sticky cookie names, if it still takes traffic. */
  byCookie(value: string): UpstreamState | undefined {
    return this.#byCookie.get(value);
  }

  acquire(u: UpstreamState): void {
    u.active++;
  }

  release(u: UpstreamState): void {
    u.active--;
    if (u.active <= 0 && u.retired) this.#forget(u);
  }

  /** A connect to `u` was refused, failed or timed out. */
  connectFailed(u: UpstreamState, reason: string): void {
    u.metrics.connectErrors.inc();
    this.#failed(u, reason);
  }

  /** `u` accepted the connection but broke the exchange before any response byte (HTTP mode). */
  responseFailed(u: UpstreamState, reason: string): void {
    this.#failed(u, reason);
  }

  #failed(u: UpstreamState, reason: string): void {
    u.failures++;
    if (u.ejected || u.failures < this.#timeouts.ejectAfter || this.#closed) return;
    const backoff = Math.min(this.#timeouts.ejectBaseMs * 2 ** u.ejections, this.#timeouts.ejectMaxMs);
    u.ejected = true;
    u.ejections++;
    u.metrics.ejections.inc();
    this.#logger.warn({ service: this.#service, backend: u.name, failures: u.failures, reason, backoffMs: backoff }, 'backend ejected after failures in a row');
    u.ejectTimer = setTimeout(() => {
      u.ejectTimer = undefined;
      u.ejected = false;
      u.failures = this.#timeouts.ejectAfter - 1; // on probation: one more failure ejects it again
      this.#logger.info({ service: this.#service, backend: u.name }, 'backend readmitted after ejection');
      this.#rebuild();
    }, backoff);
    u.ejectTimer.unref();
    this.#rebuild();
  }

  connectSucceeded(u: UpstreamState): void {
    if (u.failures !== 0) u.failures = 0;
    if (u.ejections !== 0 && !u.ejected) u.ejections = 0;
  }

  /** Everything goes: cut what is in flight after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    for (const u of this.#all.values()) this.#retire(u, graceMs);
    this.#rebuild();
    const deadline = Date.now() + graceMs + 100;
    while (this.#all.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const u of [...this.#all.values()]) {
      u.destroy();
      this.#forget(u);
    }
  }

  #retire(u: UpstreamState, graceMs = this.#timeouts.drainTimeoutMs): void {
    u.routable = false;
    if (u.retired) return;
    u.retired = true;
    if (u.active <= 0) {
      this.#forget(u);
      return;
    }
    u.closeIdle();
    u.drainTimer = setTimeout(() => {
      u.drainTimer = undefined;
      if (u.active > 0) this.#logger.info({ service: this.#service, backend: u.name, inFlight: u.active }, 'drain timeout: cutting connections to a retired backend');
      u.destroy();
      this.#forget(u);
    }, graceMs);
    u.drainTimer.unref();
  }

  #unretire(u: UpstreamState): void {
    if (!u.retired) return;
    u.retired = false;
    if (u.drainTimer) clearTimeout(u.drainTimer);
    u.drainTimer = undefined;
    if (!this.#all.has(u.key)) this.#all.set(u.key, u);
  }

  #forget(u: UpstreamState): void {
    if (this.#all.get(u.key) !== u) return;
    this.#all.delete(u.key);
    if (u.drainTimer) clearTimeout(u.drainTimer);
    if (u.ejectTimer) clearTimeout(u.ejectTimer);
    u.closeIdle();
    u.metrics.remove();
    // No #rebuild: only a retired upstream is forgotten, and a retired one left the pick lists at
    // the rebuild that followed its retirement (rebuilding here per upstream made removing an app
    // of 10,000 tasks quadratic: a minute of blocked event loop).
  }

  #rebuild(): void {
    const picks: UpstreamState[] = [];
    const ejected: UpstreamState[] = [];
    const byCookie = new Map<string, UpstreamState>();
    for (const u of this.#all.values()) {
      const live = u.routable && !u.retired;
      if (live && !u.ejected) {
        picks.push(u);
        byCookie.set(u.cookie, u);
      } else if (live) ejected.push(u);
      if (this.#all.get(u.key) === u) u.metrics.up.set(live && !u.ejected ? 1 : 0);
    }
    this.#picks = picks;
    this.#ejected = ejected;
    this.#byCookie = byCookie;
  }
}
