/**
 * The service-port proxy, a consumer of the routing table. `apply` reconciles what runs with the
 * table: a runtime per exposed service (upstreams swapped in place), a listener per
 * `bindAddress:listenPort` (TCP or HTTP mode, decided per connection), a UDP proxy per udp port,
 * and the routes of the shared virtual-host listeners. Listeners of services that left are closed
 * after draining. A port that cannot be bound, that two services claim, or a certificate that
 * cannot be loaded is a *listener problem*: logged, counted (`pacer_listener_problems`), listed on
 * the admin route `/proxy/listeners`; everything else keeps working. Failed binds are retried on
 * later tables, and every 2 s.
 *
 * An apply costs what changed, not what exists: with the table's diff it looks at the services the
 * diff names and reconciles the `bind:port`s they claim (at 10,000 services, an event that changes
 * one task is one runtime update and one port). The whole table is reconciled only without a diff
 * that follows the table applied last.
 */
import type { AdminRoutes } from '../admin/server.ts';
import { sendJson } from '../admin/server.ts';
import type { Consumer } from '../consumer.ts';
import type { Logger } from '../log.ts';
import { ListenerLog } from './listener-log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { backendKey, compareServices, type RoutingTable, type Service, type TableDiff } from '../model/routing-table.ts';
import type { BalanceAlgorithm, Upstream } from './balancer.ts';
import { createBalancer } from './balancers/index.ts';
import { VhostRouter, type RouteSource } from './http/router.ts';
import { ConnectionBudget } from './connection-limits.ts';
import { ServiceListener, type HttpServerLimits } from './listener.ts';
import { ServiceMetrics } from './metrics.ts';
import { balanceAlgorithm, ServiceRuntime } from './service.ts';
import { UdpProxy } from './udp.ts';
import type { TcpTimeouts } from './tcp.ts';
import { CertificateStore } from './tls.ts';
import type { UpstreamTimeouts } from './upstreams.ts';
import { VhostListener } from './vhosts.ts';
import { sameItems } from '../model/same.ts';
import { hostPort } from '../net/host-port.ts';

export interface ProxyOptions {
  readonly bind: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tlsCerts: readonly string[];
  readonly drainTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxHeaderSize: number;
  /** `--max-connections` and `--max-connections-per-port` (connection-limits.ts). */
  readonly maxConnections: number;
  readonly maxConnectionsPerPort: number;
  /** Bind every listener with SO_REUSEPORT: set in the workers of `--workers` > 1. */
  readonly reusePort?: boolean;
}

export type ListenerProblemKind = 'bind' | 'clash' | 'certificate';

export interface ListenerProblem {
  readonly kind: ListenerProblemKind;
  /** `tcp 0.0.0.0:10001`, `udp …`, `https 0.0.0.0:443`, or a certificate path. */
  readonly listener: string;
  /** Keys (`<appId>:<port index>`) of the services affected. */
  readonly services: readonly string[];
  readonly reason: string;
}

export interface ListenerView {
  readonly listener: string;
  readonly services: readonly string[];
  readonly mode: string;
  readonly connections?: number;
  readonly flows?: number;
}

export interface ProxyConsumer extends Consumer {
  /** Take a table: with its diff from the table applied last, or (without one) the whole table. */
  apply(table: RoutingTable, diff?: TableDiff): void;
  /** Listener problems now (for `/routes` and `/proxy/listeners`). */
  problems(): readonly ListenerProblem[];
  /** Listeners running now. */
  listeners(): readonly ListenerView[];
}

const BIND_RETRY_MS = 2_000;

/** What one apply has to bring up to date. */
interface Work {
  /** Keys of services whose runtime takes its service (and merged ones) again, or goes. */
  readonly touched: Set<string>;
  /** `bind:port`s whose claimants changed. */
  readonly tcp: Set<string>;
  readonly udp: Set<string>;
  /** The virtual-host routes are built again. */
  routes: boolean;
  /** The services' `SSL_CERT` paths changed. */
  certs: boolean;
}

function newWork(): Work {
  return { touched: new Set(), tcp: new Set(), udp: new Set(), routes: false, certs: false };
}

/** Blue/green: the runtime that has a port and the other colours served with it. */
interface Merge {
  readonly winner: ServiceRuntime;
  readonly rest: readonly Service[];
}

/** A clash problem, with what orders it among the others (as the table orders services). */
interface Clash {
  readonly problem: ListenerProblem;
  readonly port: number;
  readonly lowest: string;
}

interface UdpBinding {
  readonly proxy: UdpProxy;
  service: Service;
  /** Its `HAPROXY_{n}_BALANCE`, as the balancer now in use was made for. */
  algorithm: BalanceAlgorithm;
  readonly upstreams: Map<string, Upstream>;
  readonly metrics: ServiceMetrics;
  ready: boolean;
}

export async function startProxy(options: ProxyOptions, context: { logger: Logger; metrics: Metrics }): Promise<ProxyConsumer> {
  const proxy = new Proxy(options, context.logger.child({ consumer: 'proxy' }), context.metrics);
  await proxy.start();
  return proxy;
}

class Proxy implements ProxyConsumer {
  readonly name = 'proxy';
  readonly #options: ProxyOptions;
  readonly #logger: Logger;
  /** Listener opened / bind failed lines, one per listener or one for many (listener-log.ts). */
  readonly #listenerLog: ListenerLog;
  readonly #metrics: Metrics;
  readonly #upstreamTimeouts: UpstreamTimeouts;
  readonly #tcp: TcpTimeouts;
  readonly #limits: HttpServerLimits;
  readonly #certs: CertificateStore;
  readonly #budget: ConnectionBudget;
  readonly #runtimes = new Map<string, ServiceRuntime>();
  readonly #listeners = new Map<string, ServiceListener>();
  readonly #udp = new Map<string, UdpBinding>();
  /** Binds that failed: listener key → when to try again, and why. */
  readonly #bindFailures = new Map<string, { retryAt: number; problem: ListenerProblem }>();
  readonly #vhosts: VhostListener[] = [];
  #problems: ListenerProblem[] = [];
  /** The table applied last (its version tells whether the next table's diff follows it). */
  #table: RoutingTable | undefined;
  /** The next apply must look at the whole table (set while an apply runs: one that threw). */
  #full = false;
  /** The services of the table applied last, by key. */
  readonly #services = new Map<string, Service>();
  /** `bind:port` → the services that claim it, by key: TCP side (modes tcp and http), UDP side. */
  readonly #tcpClaims = new Map<string, Map<string, Service>>();
  readonly #udpClaims = new Map<string, Map<string, Service>>();
  /** `bind:port` → the runtime its listener serves. */
  readonly #owners = new Map<string, ServiceRuntime>();
  /** Blue/green merges: by `bind:port`, by the key of each merged service, by the winner's key. */
  readonly #merges = new Map<string, Merge>();
  readonly #mergedInto = new Map<string, Merge>();
  readonly #restOf = new Map<string, Merge>();
  /** Clash problems by `tcp bind:port` / `udp bind:port`; refused-TLS problems by `bind:port`. */
  readonly #clashes = new Map<string, Clash>();
  readonly #tlsProblems = new Map<string, ListenerProblem>();
  #problemsDirty = false;
  /** The label certificates last given to the certificate store (service key → paths). */
  #certPaths: ReadonlyMap<string, readonly string[]> = new Map();
  #closed = false;

  constructor(options: ProxyOptions, logger: Logger, metrics: Metrics) {
    this.#options = options;
    this.#logger = logger;
    this.#listenerLog = new ListenerLog(logger);
    this.#metrics = metrics;
    this.#upstreamTimeouts = {
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      drainTimeoutMs: options.drainTimeoutMs,
      ejectAfter: 3,
      ejectBaseMs: 5_000,
      ejectMaxMs: 60_000,
    };
    this.#tcp = { connectTimeoutMs: options.connectTimeoutMs, idleTimeoutMs: options.idleTimeoutMs, maxAttempts: 3 };
    this.#limits = {
      maxHeaderSize: options.maxHeaderSize,
      requestTimeoutMs: options.requestTimeoutMs,
      headersTimeoutMs: Math.min(options.requestTimeoutMs, 20_000),
      keepAliveTimeoutMs: 30_000,
      reusePort: options.reusePort === true,
    };
    this.#certs = new CertificateStore(options.tlsCerts);
    this.#budget = new ConnectionBudget({ total: options.maxConnections, perPort: options.maxConnectionsPerPort }, metrics, logger);
  }

  async start(): Promise<void> {
    await this.#openVhosts();
    this.#refreshProblems();
  }

  /** Open the virtual-host listeners not open yet (at start, and again after a failed bind). */
  async #openVhosts(): Promise<void> {
    const base = { httpsPort: this.#options.httpsPort, maxAttempts: 3, connectTimeoutMs: this.#options.connectTimeoutMs, idleTimeoutMs: this.#options.idleTimeoutMs };
    const wanted: ['http' | 'https', number][] = [
      ['http', this.#options.httpPort],
      ['https', this.#options.httpsPort],
    ];
    let opened = false;
    for (const [proto, port] of wanted) {
      if (port === 0 || this.#vhosts.some((v) => v.proto === proto)) continue;
      const key = `${proto} ${hostPort(this.#options.bind, port)}`;
      const failure = this.#bindFailures.get(key);
      if (failure && Date.now() < failure.retryAt) continue;
      const listener = new VhostListener(proto, this.#options.bind, port, this.#limits, base, this.#certs, this.#budget);
      try {
        await listener.listen();
        if (this.#closed) {
          await listener.close(0);
          return;
        }
        listener.router = this.#router;
        this.#vhosts.push(listener);
        this.#problemsStale = true;
        this.#clearBindFailure(key);
        this.#logger.info({ listener: listener.address }, 'virtual-host listener open');
        opened = true;
      } catch (error) {
        const err = error as NodeJS.ErrnoException;
        const problem: ListenerProblem = { kind: 'bind', listener: key, services: [], reason: err.code ?? err.message };
        this.#setBindFailure(key, { retryAt: Date.now() + BIND_RETRY_MS, problem });
        this.#logger.error({ listener: key, reason: problem.reason }, `cannot listen on --${proto}-port; service ports are unaffected`);
        this.#scheduleRetry();
      }
    }
    // Opened after a table (a retry): service ports on its port clash with it now.
    if (opened && this.#table && !this.#closed) this.#apply(this.#table, undefined);
    this.#refreshProblems();
  }

  #router: VhostRouter<ServiceRuntime> = new VhostRouter([]);

  problems(): readonly ListenerProblem[] {
    return this.#problems;
  }

  listeners(): readonly ListenerView[] {
    const out: ListenerView[] = [];
    for (const v of this.#vhosts) out.push({ listener: v.address, services: [], mode: 'vhost' });
    for (const l of this.#listeners.values()) {
      out.push({ listener: `tcp ${l.bind}:${l.port}`, services: [l.runtime.label], mode: l.runtime.mode, connections: l.connections });
    }
    for (const [key, b] of this.#udp) if (b.ready) out.push({ listener: `udp ${key}`, services: [b.service.key], mode: 'udp', flows: b.proxy.flows });
    return out;
  }

  registerRoutes(routes: AdminRoutes): void {
    routes.add('/proxy/listeners', (_req, res) => sendJson(res, 200, { listeners: this.listeners(), problems: this.problems() }));
  }

  /**
   * Take a table. With the diff from the table applied last (the version before), only the
   * services it names are looked at, and only the `bind:port`s they claim are reconciled: an event
   * that changes one task costs one service, not ten thousand (and a diff that names no service,
   * say only the cluster info changed, costs nothing). Without a diff (a worker's whole table, a
   * retry), or when it does not follow the table applied last (or an apply that failed), the whole
   * table is reconciled, still skipping the runtimes whose `Service` objects did not change (the
   * table builder keeps those).
   */
  apply(table: RoutingTable, diff?: TableDiff): void {
    if (this.#closed || table === this.#table) return;
    this.#apply(table, diff);
  }

  #apply(table: RoutingTable, diff: TableDiff | undefined): void {
    const incremental = diff !== undefined && table.version === (this.#table?.version ?? 0) + 1 && !this.#full;
    this.#table = table;
    // Set again once this apply has finished: an apply that throws leaves state to be rebuilt.
    this.#full = true;
    const work = newWork();
    if (incremental) {
      for (const s of diff.removed) this.#change(work, this.#services.get(s.key), undefined);
      for (const c of diff.changed) this.#change(work, this.#services.get(c.after.key), c.after);
      // New runtimes in table order (listen port, then key), as a full reconcile creates them.
      for (const s of [...diff.added].sort(compareServices)) this.#change(work, this.#services.get(s.key), s);
    } else {
      this.#walk(table, work);
    }
    this.#reconcile(work);
    this.#full = false;
  }

  /** Everything claimed before and now is reconciled; every runtime is brought up to date. */
  #walk(table: RoutingTable, work: Work): void {
    for (const key of this.#tcpClaims.keys()) work.tcp.add(key);
    for (const key of this.#owners.keys()) work.tcp.add(key);
    for (const key of this.#listeners.keys()) work.tcp.add(key);
    for (const key of this.#merges.keys()) work.tcp.add(key);
    for (const key of this.#udpClaims.keys()) work.udp.add(key);
    for (const key of this.#udp.keys()) work.udp.add(key);
    for (const key of this.#clashes.keys()) (key.startsWith('udp ') ? work.udp : work.tcp).add(key.slice(4));
    this.#tcpClaims.clear();
    this.#udpClaims.clear();
    this.#services.clear();
    for (const s of table.services) {
      this.#services.set(s.key, s);
      this.#claim(s, work);
      work.touched.add(s.key);
      if (s.mode !== 'udp' && !this.#runtimes.has(s.key)) this.#createRuntime(s);
    }
    for (const key of this.#runtimes.keys()) work.touched.add(key);
    work.routes = true;
    work.certs = true;
  }

  /** One service added (`before` undefined), removed (`after` undefined) or changed. */
  #change(work: Work, before: Service | undefined, after: Service | undefined): void {
    if (before === after) return;
    const s = (after ?? before)!;
    const moved =
      !before ||
      !after ||
      before.mode !== after.mode ||
      before.listenPort !== after.listenPort ||
      before.bindAddress !== after.bindAddress ||
      !sameItems(before.protocols, after.protocols);
    if (before && moved) this.#unclaim(before, work);
    if (after) {
      // Claimed even where it did not move: its claims then take the new object.
      this.#claim(after, work);
      this.#services.set(after.key, after);
      if (after.mode !== 'udp' && !this.#runtimes.has(after.key)) this.#createRuntime(after);
    } else this.#services.delete(s.key);
    work.touched.add(s.key);
    if (
      (before?.mode === 'http' || after?.mode === 'http') &&
      (!before || !after || before.spec !== after.spec || before.mode !== after.mode || before.servicePort !== after.servicePort)
    ) {
      work.routes = true;
    }
    if (!sameItems(certsOf(before), certsOf(after))) work.certs = true;
  }

  #createRuntime(s: Service): void {
    this.#runtimes.set(s.key, new ServiceRuntime(s, new ServiceMetrics(this.#metrics, s.key), this.#upstreamTimeouts, this.#logger));
  }

  #claim(s: Service, work: Work): void {
    const key = hostPort(s.bindAddress, s.listenPort);
    if (s.mode !== 'udp') {
      let claims = this.#tcpClaims.get(key);
      if (!claims) this.#tcpClaims.set(key, (claims = new Map()));
      claims.set(s.key, s);
      work.tcp.add(key);
    }
    if (s.protocols.includes('udp')) {
      let claims = this.#udpClaims.get(key);
      if (!claims) this.#udpClaims.set(key, (claims = new Map()));
      claims.set(s.key, s);
      work.udp.add(key);
    }
  }

  #unclaim(s: Service, work: Work): void {
    const key = hostPort(s.bindAddress, s.listenPort);
    for (const [claims, dirty] of [[this.#tcpClaims, work.tcp], [this.#udpClaims, work.udp]] as const) {
      const mine = claims.get(key);
      if (!mine?.delete(s.key)) continue;
      if (mine.size === 0) claims.delete(key);
      dirty.add(key);
    }
  }

  /** Bring the listeners of the `bind:port`s in `work`, and the runtimes it names, up to date. */
  #reconcile(work: Work): void {
    const closing: ServiceListener[] = [];
    for (const key of work.tcp) this.#reconcileTcp(key, work, closing);

    // Runtimes take their new services (and the services merged into them); those of services
    // that left drain their upstreams, then drop their series.
    for (const key of work.touched) {
      const rt = this.#runtimes.get(key);
      if (!rt) continue;
      const s = this.#services.get(key);
      if (s && s.mode !== 'udp') {
        rt.update(s, this.#restOf.get(key)?.rest);
        continue;
      }
      this.#runtimes.delete(key);
      rt.closing = true;
      void rt.upstreams.close(this.#options.drainTimeoutMs).then(() => rt.metrics.remove());
    }
    for (const listener of closing) {
      // A runtime that now owns another listener (its bind address or port changed) is not closing.
      const rt = listener.runtime;
      const owns = this.#owners.get(hostPort(rt.service.bindAddress, rt.service.listenPort)) === rt;
      void listener.close(this.#options.drainTimeoutMs, !owns);
    }

    for (const key of work.udp) this.#reconcileUdp(key);

    // Virtual hosts.
    if (work.routes) {
      const sources: RouteSource<ServiceRuntime>[] = [];
      for (const rt of this.#runtimes.values()) {
        const s = rt.service;
        if (s.mode !== 'http') continue; // without vhosts: reachable by X-Marathon-App-Id only
        sources.push({
          target: this.#mergedInto.get(s.key)?.winner ?? rt,
          appId: s.appId,
          servicePort: s.servicePort,
          vhosts: s.spec.vhosts,
          paths: s.spec.paths,
          pathsIgnoreCase: s.spec.pathsIgnoreCase,
          weight: s.spec.backendWeight,
        });
      }
      const router = new VhostRouter(sources);
      this.#router = router;
      for (const v of this.#vhosts) v.router = router;
    }
    if (this.#vhosts.length < (this.#options.httpPort === 0 ? 0 : 1) + (this.#options.httpsPort === 0 ? 0 : 1)) void this.#openVhosts();

    // Certificates (label ones may come and go; files that did not load are tried again).
    let certsUpdated = false;
    if (work.certs) {
      const certPaths = new Map<string, readonly string[]>();
      for (const rt of this.#runtimes.values()) if (rt.service.spec.sslCerts.length > 0) certPaths.set(rt.service.key, rt.service.spec.sslCerts);
      this.#certPaths = certPaths;
    }
    if (work.certs || this.#certs.problems.length > 0) {
      const before = this.#certs.problems;
      this.#certs.update(this.#certPaths);
      certsUpdated = true;
      this.#problemsStale = true;
      if (before.length > 0 || this.#certs.problems.length > 0) this.#problemsDirty = true;
    }
    if (certsUpdated) for (const [key, listener] of this.#listeners) this.#secure(key, listener);
    else {
      for (const key of work.tcp) {
        const listener = this.#listeners.get(key);
        if (listener) this.#secure(key, listener);
      }
    }

    if (this.#problemsDirty) this.#composeProblems();
    this.#refreshProblems();
  }

  /** The TLS side of a service-port listener, from its service's `SSL_CERT`. */
  #secure(key: string, listener: ServiceListener): void {
    const path = listener.runtime.service.spec.sslCerts[0];
    listener.secureContext = path === undefined ? undefined : this.#certs.contextOf(path);
    // Never fall back to plaintext on a port meant to be TLS: refuse its connections.
    listener.tlsUnavailable = path !== undefined && listener.secureContext === undefined;
    const had = this.#tlsProblems.get(key);
    if (listener.tlsUnavailable) {
      const problem: ListenerProblem = { kind: 'certificate', listener: `tcp ${key}`, services: [listener.runtime.label], reason: `certificate ${path} did not load: connections refused` };
      if (!had || JSON.stringify(had) !== JSON.stringify(problem)) {
        this.#tlsProblems.set(key, problem);
        this.#problemsDirty = true;
      }
    } else if (had) {
      this.#tlsProblems.delete(key);
      this.#problemsDirty = true;
    }
  }

  /**
   * One TCP `bind:port`: the service that has it (a clash leaves the port to the service that has
   * it now, so a new app cannot take a live port from the app serving there, else to the first
   * claimant by key), blue/green merges, its listener.
   */
  #reconcileTcp(key: string, work: Work, closing: ServiceListener[]): void {
    const claims = this.#tcpClaims.get(key);
    let owner: ServiceRuntime | undefined;
    let merge: Merge | undefined;
    let clash: Clash | undefined;
    let bind = '';
    let port = 0;
    if (claims && claims.size > 0) {
      const claimants = [...claims.values()];
      if (claimants.length > 1) claimants.sort(byKey);
      const lowest = claimants[0]!.key;
      incumbentFirst(claimants, this.#listeners.get(key)?.runtime.service.key);
      const [first, ...rest] = claimants as [Service, ...Service[]];
      bind = first.bindAddress;
      port = first.listenPort;
      if (this.#vhostOwns(bind, port)) {
        clash = { problem: { kind: 'clash', listener: `tcp ${key}`, services: claimants.map((c) => c.key), reason: `port ${port} is pacer's virtual-host listener` }, port, lowest };
      } else {
        owner = this.#runtimes.get(first.key)!;
        const group = first.spec.deployment?.group;
        if (rest.length > 0 && group !== undefined && rest.every((r) => r.spec.deployment?.group === group)) {
          // Blue/green (zdd): both colours pin the same port; their backends are served together.
          merge = { winner: owner, rest };
        } else if (rest.length > 0) {
          clash = { problem: { kind: 'clash', listener: `tcp ${key}`, services: claimants.map((c) => c.key), reason: `claimed by ${claimants.length} services; ${first.key} has it` }, port, lowest };
        }
      }
    }
    this.#setMerge(key, merge, work);
    this.#setClash(`tcp ${key}`, clash);
    if (owner) {
      this.#owners.set(key, owner);
      this.#ensureListener(key, owner, bind, port);
      return;
    }
    this.#owners.delete(key);
    const listener = this.#listeners.get(key);
    if (listener) {
      this.#listeners.delete(key);
      this.#logger.info({ listener: `tcp ${key}`, service: listener.runtime.label }, 'closing listener (service gone), draining');
      closing.push(listener);
    }
    this.#clearBindFailure(`tcp ${key}`);
    if (this.#tlsProblems.delete(key)) this.#problemsDirty = true;
  }

  #setMerge(key: string, merge: Merge | undefined, work: Work): void {
    const previous = this.#merges.get(key);
    if (!previous && !merge) return;
    if (previous) {
      for (const r of previous.rest) if (this.#mergedInto.get(r.key) === previous) this.#mergedInto.delete(r.key);
      if (this.#restOf.get(previous.winner.label) === previous) this.#restOf.delete(previous.winner.label);
      this.#merges.delete(key);
      work.touched.add(previous.winner.label);
    }
    if (merge) {
      for (const r of merge.rest) this.#mergedInto.set(r.key, merge);
      this.#restOf.set(merge.winner.label, merge);
      this.#merges.set(key, merge);
      work.touched.add(merge.winner.label);
    }
    if (previous?.winner !== merge?.winner || !sameKeys(previous?.rest ?? [], merge?.rest ?? [])) work.routes = true;
  }

  #setClash(key: string, clash: Clash | undefined): void {
    const had = this.#clashes.get(key);
    if (!had && !clash) return;
    if (clash) this.#clashes.set(key, clash);
    else this.#clashes.delete(key);
    if (!had || !clash || JSON.stringify(had.problem) !== JSON.stringify(clash.problem)) this.#problemsDirty = true;
  }

  /** Listener problems that come from the table: clashes (by port), certificates, then UDP clashes. */
  #composeProblems(): void {
    this.#problemsDirty = false;
    const clashes = [...this.#clashes].sort(([, a], [, b]) => a.port - b.port || compareStrings(a.lowest, b.lowest));
    const problems: ListenerProblem[] = [];
    for (const [key, c] of clashes) if (key.startsWith('tcp ')) problems.push(c.problem);
    for (const p of this.#certs.problems) problems.push({ kind: 'certificate', listener: p.path, services: p.services, reason: p.reason });
    for (const p of this.#tlsProblems.values()) problems.push(p);
    for (const [key, c] of clashes) if (key.startsWith('udp ')) problems.push(c.problem);
    this.#staticProblems = problems;
    this.#problemsStale = true;
  }

  #staticProblems: ListenerProblem[] = [];

  #vhostOwns(bind: string, port: number): boolean {
    return this.#vhosts.some((v) => v.port === port && (v.bind === bind || isWildcard(v.bind) || isWildcard(bind)));
  }

  #ensureListener(key: string, rt: ServiceRuntime, bind: string, port: number): void {
    const existing = this.#listeners.get(key);
    if (existing) {
      existing.runtime = rt;
      rt.closing = false;
      return;
    }
    const failure = this.#bindFailures.get(`tcp ${key}`);
    if (failure && Date.now() < failure.retryAt) return;
    const listener = new ServiceListener(bind, port, rt, this.#tcp, this.#limits, this.#options.httpsPort, this.#budget);
    this.#listeners.set(key, listener);
    listener.listen().then(
      () => {
        if (this.#clearBindFailure(`tcp ${key}`)) this.#refreshSoon();
        this.#listenerLog.opened({ listener: `tcp ${key}`, service: listener.runtime.label, mode: listener.runtime.mode });
      },
      (error: NodeJS.ErrnoException) => {
        if (this.#listeners.get(key) === listener) this.#listeners.delete(key);
        const problem: ListenerProblem = { kind: 'bind', listener: `tcp ${key}`, services: [listener.runtime.label], reason: error.code ?? error.message };
        this.#setBindFailure(`tcp ${key}`, { retryAt: Date.now() + BIND_RETRY_MS, problem });
        this.#listenerLog.failed({ listener: problem.listener, service: listener.runtime.label, reason: problem.reason });
        this.#refreshSoon();
        this.#scheduleRetry();
      },
    );
  }

  #retryTimer: NodeJS.Timeout | undefined;

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed) return;
      if (!this.#table) {
        void this.#openVhosts();
        return;
      }
      // Only the ports whose bind failed (and the vhost listeners, in #reconcile) are tried again.
      const work = newWork();
      for (const key of this.#bindFailures.keys()) {
        if (key.startsWith('tcp ')) work.tcp.add(key.slice(4));
        else if (key.startsWith('udp ')) work.udp.add(key.slice(4));
      }
      this.#reconcile(work);
      // A failure newer than this timer was not due yet: its turn comes at the next one.
      if (this.#bindFailures.size > 0) this.#scheduleRetry();
    }, BIND_RETRY_MS + 50);
    this.#retryTimer.unref();
  }

  /** One UDP `bind:port`: the service that has it (as for TCP) and its upstreams. */
  #reconcileUdp(key: string): void {
    const claims = this.#udpClaims.get(key);
    let binding = this.#udp.get(key);
    if (!claims || claims.size === 0) {
      this.#setClash(`udp ${key}`, undefined);
      this.#clearBindFailure(`udp ${key}`);
      if (binding) {
        const gone = binding;
        this.#udp.delete(key);
        void gone.proxy.close().then(() => this.#metrics.proxyUdpFlows.remove({ service: gone.service.key }));
      }
      return;
    }
    const claimants = [...claims.values()];
    if (claimants.length > 1) claimants.sort(byKey);
    const lowest = claimants[0]!.key;
    incumbentFirst(claimants, binding?.service.key);
    const [first, ...rest] = claimants as [Service, ...Service[]];
    this.#setClash(
      `udp ${key}`,
      rest.length > 0
        ? { problem: { kind: 'clash', listener: `udp ${key}`, services: claimants.map((c) => c.key), reason: `claimed by ${claimants.length} services; ${first.key} has it` }, port: first.listenPort, lowest }
        : undefined,
    );
    if (binding && binding.service.key !== first.key) {
      void binding.proxy.close();
      this.#metrics.proxyUdpFlows.remove({ service: binding.service.key });
      this.#udp.delete(key);
      binding = undefined;
    }
    if (!binding) {
      const failure = this.#bindFailures.get(`udp ${key}`);
      if (failure && Date.now() < failure.retryAt) return;
      const flowsGauge = new ServiceMetrics(this.#metrics, first.key);
      const algorithm = this.#udpAlgorithm(first);
      const proxy = new UdpProxy({
        onStats: ({ flows }) => flowsGauge.udpFlows.set(flows),
        onError: (error) => this.#logger.warn({ listener: `udp ${key}`, err: error }, 'udp listener error'),
        bind: first.bindAddress,
        port: first.listenPort,
        balancer: createBalancer(algorithm),
        idleTimeoutMs: Math.min(this.#options.idleTimeoutMs, 60_000),
        reusePort: this.#options.reusePort === true,
      });
      const created: UdpBinding = { proxy, service: first, algorithm, upstreams: new Map(), metrics: flowsGauge, ready: false };
      binding = created;
      this.#udp.set(key, created);
      proxy.listen().then(
        () => {
          created.ready = true;
          if (this.#clearBindFailure(`udp ${key}`)) this.#refreshSoon();
          this.#listenerLog.opened({ listener: `udp ${key}`, service: first.key });
        },
        (error: NodeJS.ErrnoException) => {
          if (this.#udp.get(key) === created) this.#udp.delete(key);
          const problem: ListenerProblem = { kind: 'bind', listener: `udp ${key}`, services: [first.key], reason: error.code ?? error.message };
          this.#setBindFailure(`udp ${key}`, { retryAt: Date.now() + BIND_RETRY_MS, problem });
          this.#listenerLog.failed({ listener: problem.listener, service: first.key, reason: problem.reason });
          this.#metrics.proxyUdpFlows.remove({ service: first.key });
          this.#refreshSoon();
          this.#scheduleRetry();
        },
      );
    } else if (binding.service.spec !== first.spec) {
      // `HAPROXY_{n}_BALANCE` is in the spec: looked at again only when that changed, so a value
      // pacer does not implement is warned about once, not at every table.
      const algorithm = this.#udpAlgorithm(first);
      if (algorithm !== binding.algorithm) {
        binding.algorithm = algorithm;
        binding.proxy.setBalancer(createBalancer(algorithm));
      }
    }
    binding.service = first;
    const next = new Map<string, Upstream>();
    const list: Upstream[] = [];
    for (const b of first.backends) {
      if (!b.routable || b.draining) continue;
      const k = backendKey(b);
      const u = binding.upstreams.get(k) ?? { key: k, address: b.address, port: b.port, active: 0 };
      next.set(k, u);
      list.push(u);
    }
    binding.upstreams.clear();
    for (const [k, u] of next) binding.upstreams.set(k, u);
    binding.proxy.setUpstreams(list);
  }

  /**
   * The balance algorithm of a service's UDP port: that of its runtime when it has one (a tcp+udp
   * service; the runtime warned already about a value pacer does not implement), else its own.
   */
  #udpAlgorithm(s: Service): BalanceAlgorithm {
    const rt = this.#runtimes.get(s.key);
    return rt && rt.service.spec === s.spec ? rt.algorithm : balanceAlgorithm(s, this.#logger);
  }

  #setBindFailure(key: string, failure: { retryAt: number; problem: ListenerProblem }): void {
    this.#bindFailures.set(key, failure);
    this.#problemsStale = true;
  }

  #clearBindFailure(key: string): boolean {
    if (!this.#bindFailures.delete(key)) return false;
    this.#problemsStale = true;
    return true;
  }

  /**
   * List the problems once the binds that settle now have all been counted: 10,000 ports that
   * cannot be bound fail together, and listing them one failure at a time was quadratic (copying
   * and comparing the whole list per failure: 47 s of blocked event loop at 10,000 ports).
   */
  #refreshSoon(): void {
    this.#refreshImmediate ??= setImmediate(() => {
      this.#refreshImmediate = undefined;
      this.#refreshProblems();
    });
  }

  #refreshImmediate: NodeJS.Immediate | undefined;
  /** Something the listener problems are made of changed since they were last listed. */
  #problemsStale = true;
  #problemsJson = '[]';

  #refreshProblems(): void {
    if (!this.#problemsStale) return;
    this.#problemsStale = false;
    const problems = [...this.#staticProblems];
    for (const f of this.#bindFailures.values()) problems.push(f.problem);
    for (const v of this.#vhosts) {
      if (v.proto === 'https' && !this.#certs.hasAny) problems.push({ kind: 'certificate', listener: v.address, services: [], reason: 'no certificate: give --tls-cert or HAPROXY_{n}_SSL_CERT' });
    }
    this.#problems = problems;
    const counts: Record<ListenerProblemKind, number> = { bind: 0, clash: 0, certificate: 0 };
    for (const p of problems) counts[p.kind]++;
    for (const [kind, n] of Object.entries(counts)) this.#metrics.proxyListenerProblems.set({ kind }, n);
    const json = JSON.stringify(problems);
    if (json !== this.#problemsJson) {
      this.#problemsJson = json;
      for (const p of problems) if (p.kind !== 'bind') this.#logger.warn(p, 'listener problem');
    }
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#refreshImmediate) clearImmediate(this.#refreshImmediate);
    await Promise.all([
      ...this.#vhosts.map((v) => v.close(graceMs)),
      ...[...this.#listeners.values()].map((l) => l.close(graceMs)),
      ...[...this.#udp.values()].map((b) => b.proxy.close()),
    ]);
    await Promise.all([...this.#runtimes.values()].map((rt) => rt.upstreams.close(Math.min(graceMs, 1_000))));
    this.#listeners.clear();
    this.#udp.clear();
    this.#runtimes.clear();
  }
}

/** Move the claimant whose key is `incumbent` (the service on the port now) to the front. */
function incumbentFirst(claimants: Service[], incumbent: string | undefined): void {
  const i = incumbent === undefined ? -1 : claimants.findIndex((c) => c.key === incumbent);
  if (i > 0) claimants.unshift(...claimants.splice(i, 1));
}

function byKey(a: Service, b: Service): number {
  return compareStrings(a.key, b.key);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NO_CERTS: readonly string[] = [];

/** The `SSL_CERT` paths a service's runtime has (none for a udp-only service). */
function certsOf(s: Service | undefined): readonly string[] {
  return s && s.mode !== 'udp' ? s.spec.sslCerts : NO_CERTS;
}

function sameKeys(a: readonly Service[], b: readonly Service[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.key !== b[i]!.key) return false;
  return true;
}

function isWildcard(bind: string): boolean {
  return bind === '0.0.0.0' || bind === '::';
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
