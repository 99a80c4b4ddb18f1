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
import { backendKey, type Backend } from '../model/routing-table.ts';
import type { Balancer, PickContext, Upstream } from './balancer.ts';
import { fnv1a32 } from './balancers/hash.ts';
import { UpstreamPool } from './http/client.ts';
import type { BackendCounters, ServiceMetrics } from './metrics.ts';
import { hostPort } from '../net/host-port.ts';

export interface UpstreamTimeouts {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly ejectAfter: number;
  readonly ejectBaseMs: number;
  readonly ejectMaxMs: number;
}

/**
 * What few upstreams need, made on first need: failure counts, timers, connections, cached names.
 * A table of 100,000 backends keeps 100,000 `UpstreamState`s; most never see a failure or a
 * connection, and each field kept here instead costs them nothing.
 */
class UpstreamExtra {
  failures = 0;
  ejections = 0;
  connectErrors = 0;
  ejectionsTotal = 0;
  drainTimer: NodeJS.Timeout | undefined;
  ejectTimer: NodeJS.Timeout | undefined;
  key: string | undefined;
  name: string | undefined;
  cookie: string | undefined;
  sockets: Set<Socket> | undefined;
  pool: UpstreamPool | undefined;
  /** Pools closed by `closeIdle()` whose busy connections still finish: `destroy()` cuts them. */
  closing: Set<UpstreamPool> | undefined;
}

export class UpstreamState implements Upstream, BackendCounters {
  readonly taskId: string;
  /** Its key in the set: the task id, or `key` once a newer endpoint of the task took the id. */
  slot: string;
  readonly address: string;
  readonly port: number;
  active = 0;
  /** In the table and routable. */
  routable = false;
  /** Draining or gone from the table: forgotten once idle, cut after the drain timeout. */
  retired = false;
  ejected = false;
  /** The `UpstreamSet.update` that last saw it in the table. */
  seen = 0;
  readonly #timeouts: UpstreamTimeouts;
  #x: UpstreamExtra | undefined;

  constructor(taskId: string, address: string, port: number, timeouts: UpstreamTimeouts) {
    this.taskId = taskId;
    this.slot = taskId;
    this.address = address;
    this.port = port;
    this.#timeouts = timeouts;
  }

  get #extra(): UpstreamExtra {
    return (this.#x ??= new UpstreamExtra());
  }

  /** Stable identity across table versions: `<taskId>@<address>:<port>`. */
  get key(): string {
    const x = this.#extra;
    return (x.key ??= backendKey(this));
  }

  /** `address:port`, the metric label and log name (kept once the upstream has traffic). */
  get name(): string {
    const x = this.#x;
    if (x?.name !== undefined) return x.name;
    const name = hostPort(this.address, this.port);
    if (x) x.name = name;
    return name;
  }

  /** Value of the sticky cookie that names this backend (stable across pacer instances). */
  get cookie(): string {
    const x = this.#extra;
    // A short stable id for the sticky cookie: FNV-1a of `address:port`, base 36.
    return (x.cookie ??= fnv1a32(this.name).toString(36));
  }

  /** Takes new traffic: routable, not retired, not ejected (`pacer_backend_up`). */
  get up(): boolean {
    return this.routable && !this.retired && !this.ejected;
  }

  /** Failures in a row (failed connects, broken exchanges). */
  get failures(): number {
    return this.#x?.failures ?? 0;
  }

  set failures(value: number) {
    if (value !== 0 || this.#x) this.#extra.failures = value;
  }

  /** Ejections in a row (the backoff doubles with each). */
  get ejections(): number {
    return this.#x?.ejections ?? 0;
  }

  set ejections(value: number) {
    if (value !== 0 || this.#x) this.#extra.ejections = value;
  }

  /** `pacer_backend_connect_errors_total` and `pacer_backend_ejections_total` (read when scraped). */
  get connectErrors(): number {
    return this.#x?.connectErrors ?? 0;
  }

  set connectErrors(value: number) {
    this.#extra.connectErrors = value;
  }

  get ejectionsTotal(): number {
    return this.#x?.ejectionsTotal ?? 0;
  }

  set ejectionsTotal(value: number) {
    this.#extra.ejectionsTotal = value;
  }

  get drainTimer(): NodeJS.Timeout | undefined {
    return this.#x?.drainTimer;
  }

  set drainTimer(timer: NodeJS.Timeout | undefined) {
    if (timer !== undefined || this.#x) this.#extra.drainTimer = timer;
  }

  get ejectTimer(): NodeJS.Timeout | undefined {
    return this.#x?.ejectTimer;
  }

  set ejectTimer(timer: NodeJS.Timeout | undefined) {
    if (timer !== undefined || this.#x) this.#extra.ejectTimer = timer;
  }

  /** Downstream-upstream socket pairs in flight (TCP mode), for the drain timeout. */
  get sockets(): Set<Socket> {
    const x = this.#extra;
    return (x.sockets ??= new Set());
  }

  /** The keep-alive connection pool to this backend (HTTP mode), created on first use. */
  get pool(): UpstreamPool {
    const x = this.#extra;
    x.pool ??= new UpstreamPool(this.address, this.port, {
      connectTimeoutMs: this.#timeouts.connectTimeoutMs,
      idleTimeoutMs: this.#timeouts.idleTimeoutMs,
      keepAliveMs: 4_000,
    });
    return x.pool;
  }

  /** Cut everything in flight and release the pool. */
  destroy(): void {
    const x = this.#x;
    if (!x) return;
    const cut = new Error('drain timeout');
    if (x.sockets) {
      for (const s of x.sockets) s.destroy(cut);
      x.sockets.clear();
    }
    const pool = x.pool;
    x.pool = undefined;
    pool?.destroy();
    if (x.closing) {
      for (const p of x.closing) p.destroy();
      x.closing = undefined;
    }
  }

  /** Let in-flight requests finish, then release the pool. */
  closeIdle(): void {
    const x = this.#x;
    if (!x) return;
    if (x.closing) for (const p of x.closing) if (p.size === 0) x.closing.delete(p);
    const pool = x.pool;
    x.pool = undefined;
    if (!pool) return;
    pool.close();
    if (pool.size > 0) (x.closing ??= new Set()).add(pool);
  }
}

/**
 * The upstreams of one service, by task id (a task has one endpoint per port; the model's task id
 * strings are shared, and their hashes cached, so 100,000 backends cost no key strings). An upstream
 * is a task's endpoint: when a task's endpoint changes, the old one drains as another upstream
 * (moved to its full `key`) and the new one takes the task id.
 */
export class UpstreamSet {
  readonly #all = new Map<string, UpstreamState>();
  readonly #timeouts: UpstreamTimeouts;
  readonly #logger: Logger;
  readonly #service: string;
  /** Takes new traffic: routable, not retired, not ejected. */
  #picks: UpstreamState[] = [];
  /** Routable but ejected: the panic-mode fallback. */
  #ejected: UpstreamState[] = [];
  /** Sticky cookie → upstream, made on the first lookup after the pick lists changed. */
  #byCookie: Map<string, UpstreamState> | undefined;
  #generation = 0;
  #closed = false;

  constructor(service: string, metrics: ServiceMetrics, timeouts: UpstreamTimeouts, logger: Logger) {
    this.#service = service;
    this.#timeouts = timeouts;
    this.#logger = logger;
    metrics.serveBackends(() => this.#all.values());
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

  /** Take the backends of a new table version. The pick lists are rebuilt only if they change. */
  update(backends: readonly Backend[]): void {
    const generation = ++this.#generation;
    let changed = false;
    for (const b of backends) {
      let u = this.#all.get(b.taskId);
      if (u && (u.address !== b.address || u.port !== b.port)) {
        // The task's endpoint changed: the old endpoint is another upstream, which drains (not
        // seen below); an earlier endpoint still draining comes back.
        this.#all.delete(u.slot);
        u.slot = u.key;
        this.#all.set(u.slot, u);
        u = this.#all.get(backendKey(b));
        if (u) {
          this.#all.delete(u.slot);
          u.slot = u.taskId;
          this.#all.set(u.slot, u);
        }
      }
      if (!u) {
        u = new UpstreamState(b.taskId, b.address, b.port, this.#timeouts);
        this.#all.set(b.taskId, u);
        changed = true;
      }
      u.seen = generation;
      const routable = b.routable && !b.draining;
      if (u.routable !== routable) {
        u.routable = routable;
        changed = true;
      }
      if (b.draining) changed = this.#retire(u) || changed;
      else changed = this.#unretire(u) || changed;
    }
    for (const u of this.#all.values()) if (u.seen !== generation) changed = this.#retire(u) || changed;
    if (changed) this.#rebuild();
  }

  /** Pick a backend for new traffic. */
  pick(balancer: Balancer, context: PickContext, exclude?: ReadonlySet<string>): UpstreamState | undefined {
    const list = this.#picks.length > 0 ? this.#picks : this.#ejected;
    if (list.length === 0) return undefined;
    return balancer.pick(list, context, exclude) as UpstreamState | undefined;
  }

  /** The backend a sticky cookie names, if it still takes traffic. */
  byCookie(value: string): UpstreamState | undefined {
    if (!this.#byCookie) {
      const byCookie = new Map<string, UpstreamState>();
      for (const u of this.#picks) byCookie.set(u.cookie, u);
      this.#byCookie = byCookie;
    }
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
    u.connectErrors++;
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
    u.ejectionsTotal++;
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

  /** Returns whether `u` was taking part (and now no longer is). */
  #retire(u: UpstreamState, graceMs = this.#timeouts.drainTimeoutMs): boolean {
    u.routable = false;
    if (u.retired) return false;
    u.retired = true;
    if (u.active <= 0) {
      this.#forget(u);
      return true;
    }
    u.closeIdle();
    u.drainTimer = setTimeout(() => {
      u.drainTimer = undefined;
      if (u.active > 0) this.#logger.info({ service: this.#service, backend: u.name, inFlight: u.active }, 'drain timeout: cutting connections to a retired backend');
      u.destroy();
      this.#forget(u);
    }, graceMs);
    u.drainTimer.unref();
    return true;
  }

  /** Returns whether `u` was retired (and now is not). */
  #unretire(u: UpstreamState): boolean {
    if (!u.retired) return false;
    u.retired = false;
    if (u.drainTimer) clearTimeout(u.drainTimer);
    u.drainTimer = undefined;
    if (!this.#all.has(u.slot)) this.#all.set(u.slot, u);
    return true;
  }

  #forget(u: UpstreamState): void {
    if (this.#all.get(u.slot) !== u) return;
    this.#all.delete(u.slot);
    if (u.drainTimer) clearTimeout(u.drainTimer);
    if (u.ejectTimer) clearTimeout(u.ejectTimer);
    u.closeIdle();
    // Its series go with it: they are read from #all when scraped.
    // No #rebuild: only a retired upstream is forgotten, and a retired one left the pick lists at
    // the rebuild that followed its retirement (rebuilding here per upstream made removing an app
    // of 10,000 tasks quadratic: a minute of blocked event loop).
  }

  #rebuild(): void {
    const picks: UpstreamState[] = [];
    const ejected: UpstreamState[] = [];
    for (const u of this.#all.values()) {
      if (!u.routable || u.retired) continue;
      if (u.ejected) ejected.push(u);
      else picks.push(u);
    }
    this.#picks = picks;
    this.#ejected = ejected;
    this.#byCookie = undefined;
  }
}
