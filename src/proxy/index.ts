/**
 * The service-port proxy, a consumer of the routing table. `apply` reconciles what runs with the
 * table: a runtime per exposed service (upstreams swapped in place), a listener per
 * `bindAddress:listenPort` (TCP or HTTP mode, decided per connection), a UDP proxy per udp port,
 * and the routes of the shared virtual-host listeners. Listeners of services that left are closed
 * after draining. A port that cannot be bound, that two services claim, or a certificate that
 * cannot be loaded is a *listener problem*: logged, counted (`pacer_listener_problems`), listed on
 * the admin route `/proxy/listeners`; everything else keeps working. Failed binds are retried on
 * later tables.
 */
import type { AdminRoutes } from '../admin/server.ts';
import { sendJson } from '../admin/server.ts';
import type { Consumer } from '../consumer.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { RoutingTable, Service } from '../model/routing-table.ts';
import type { Upstream } from './balancer.ts';
import { createBalancer } from './balancers/index.ts';
import { VhostRouter, type RouteSource } from './http/router.ts';
import { ConnectionBudget } from './connection-limits.ts';
import { ServiceListener, type HttpServerLimits } from './listener.ts';
import { ServiceMetrics } from './metrics.ts';
import { ServiceRuntime } from './service.ts';
import { UdpProxy } from './udp.ts';
import type { TcpTimeouts } from './tcp.ts';
import { CertificateStore } from './tls.ts';
import type { UpstreamTimeouts } from './upstreams.ts';
import { VhostListener } from './vhosts.ts';

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
  /** Listener problems now (for `/routes` and `/proxy/listeners`). */
  problems(): readonly ListenerProblem[];
  /** Listeners running now. */
  listeners(): readonly ListenerView[];
}

const BIND_RETRY_MS = 2_000;

interface UdpBinding {
  readonly proxy: UdpProxy;
  service: Service;
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
  #table: RoutingTable | undefined;
  #closed = false;

  constructor(options: ProxyOptions, logger: Logger, metrics: Metrics) {
    this.#options = options;
    this.#logger = logger;
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
    for (const [proto, port] of wanted) {
      if (port === 0 || this.#vhosts.some((v) => v.proto === proto)) continue;
      const key = `${proto} ${listenerKey(this.#options.bind, port)}`;
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
        this.#bindFailures.delete(key);
        this.#logger.info({ listener: listener.address }, 'virtual-host listener open');
      } catch (error) {
        const err = error as NodeJS.ErrnoException;
        const problem: ListenerProblem = { kind: 'bind', listener: key, services: [], reason: err.code ?? err.message };
        this.#bindFailures.set(key, { retryAt: Date.now() + BIND_RETRY_MS, problem });
        this.#logger.error({ listener: key, reason: problem.reason }, `cannot listen on --${proto}-port; service ports are unaffected`);
        this.#scheduleRetry();
      }
    }
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

  apply(table: RoutingTable): void {
    if (this.#closed) return;
    this.#table = table;
    const problems: ListenerProblem[] = [];
    const tcpClaims = new Map<string, Service[]>();
    const udpClaims = new Map<string, Service[]>();
    const liveRuntimes = new Set<string>();
    for (const s of table.services) {
      const key = listenerKey(s.bindAddress, s.listenPort);
      if (s.mode !== 'udp') {
        push(tcpClaims, key, s);
        liveRuntimes.add(s.key);
        const rt = this.#runtimes.get(s.key);
        if (rt) rt.update(s);
        else this.#runtimes.set(s.key, new ServiceRuntime(s, new ServiceMetrics(this.#metrics, s.key), this.#upstreamTimeouts, this.#logger));
      }
      if (s.protocols.includes('udp')) push(udpClaims, key, s);
    }

    // TCP-side listeners: one per bind:port; a clash leaves the port to the service that has it
    // now (a new app cannot take a live port from the app serving there), else to the first
    // claimant by key.
    const owners = new Map<string, ServiceRuntime>();
    const mergedInto = new Map<string, ServiceRuntime>();
    for (const [key, claimants] of tcpClaims) {
      incumbentFirst(claimants, this.#listeners.get(key)?.runtime.service.key);
      const [first, ...rest] = claimants;
      if (!first) continue;
      const winner = this.#runtimes.get(first.key)!;
      const port = first.listenPort;
      if (this.#vhostOwns(first.bindAddress, port)) {
        problems.push({ kind: 'clash', listener: `tcp ${key}`, services: claimants.map((c) => c.key), reason: `port ${port} is pacer's virtual-host listener` });
        continue;
      }
      const group = first.spec.deployment?.group;
      if (rest.length > 0 && group !== undefined && rest.every((r) => r.spec.deployment?.group === group)) {
        // Blue/green (zdd): both colours pin the same port; their backends are served together.
        winner.update(first, rest);
        for (const r of rest) mergedInto.set(r.key, winner);
      } else if (rest.length > 0) {
        problems.push({ kind: 'clash', listener: `tcp ${key}`, services: claimants.map((c) => c.key), reason: `claimed by ${claimants.length} services; ${first.key} has it` });
      }
      owners.set(key, winner);
    }
    for (const [key, rt] of owners) this.#ensureListener(key, rt);
    for (const [key, listener] of this.#listeners) {
      if (owners.has(key)) continue;
      this.#listeners.delete(key);
      this.#logger.info({ listener: `tcp ${key}`, service: listener.runtime.label }, 'closing listener (service gone), draining');
      void listener.close(this.#options.drainTimeoutMs, ![...owners.values()].includes(listener.runtime));
    }
    for (const key of this.#bindFailures.keys()) if (key.startsWith('tcp ') && !owners.has(key.slice(4))) this.#bindFailures.delete(key);

    // Runtimes of services that left: drain their upstreams, drop their series.
    for (const [key, rt] of this.#runtimes) {
      if (liveRuntimes.has(key)) continue;
      this.#runtimes.delete(key);
      rt.closing = true;
      void rt.upstreams.close(this.#options.drainTimeoutMs).then(() => rt.metrics.remove());
    }

    // Virtual hosts.
    const sources: RouteSource<ServiceRuntime>[] = [];
    for (const rt of this.#runtimes.values()) {
      const s = rt.service;
      if (s.mode !== 'http') continue; // without vhosts: reachable by X-Marathon-App-Id only
      sources.push({
        target: mergedInto.get(s.key) ?? rt,
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
    if (this.#vhosts.length < (this.#options.httpPort === 0 ? 0 : 1) + (this.#options.httpsPort === 0 ? 0 : 1)) void this.#openVhosts();

    // Certificates (label ones may come and go).
    const certPaths = new Map<string, readonly string[]>();
    for (const rt of this.#runtimes.values()) if (rt.service.spec.sslCerts.length > 0) certPaths.set(rt.service.key, rt.service.spec.sslCerts);
    this.#certs.update(certPaths);
    for (const p of this.#certs.problems) problems.push({ kind: 'certificate', listener: p.path, services: p.services, reason: p.reason });
    for (const [key, listener] of this.#listeners) {
      const path = listener.runtime.service.spec.sslCerts[0];
      listener.secureContext = path === undefined ? undefined : this.#certs.contextOf(path);
      // Never fall back to plaintext on a port meant to be TLS: refuse its connections.
      listener.tlsUnavailable = path !== undefined && listener.secureContext === undefined;
      if (listener.tlsUnavailable) {
        problems.push({ kind: 'certificate', listener: `tcp ${key}`, services: [listener.runtime.label], reason: `certificate ${path} did not load: connections refused` });
      }
    }

    this.#applyUdp(udpClaims, problems);
    this.#staticProblems = problems;
    this.#refreshProblems();
  }

  #staticProblems: ListenerProblem[] = [];

  #vhostOwns(bind: string, port: number): boolean {
    return this.#vhosts.some((v) => v.port === port && (v.bind === bind || isWildcard(v.bind) || isWildcard(bind)));
  }

  #ensureListener(key: string, rt: ServiceRuntime): void {
    const existing = this.#listeners.get(key);
    if (existing) {
      existing.runtime = rt;
      rt.closing = false;
      return;
    }
    const failure = this.#bindFailures.get(`tcp ${key}`);
    if (failure && Date.now() < failure.retryAt) return;
    const s = rt.service;
    const listener = new ServiceListener(s.bindAddress, s.listenPort, rt, this.#tcp, this.#limits, this.#options.httpsPort, this.#budget);
    this.#listeners.set(key, listener);
    listener.listen().then(
      () => {
        this.#bindFailures.delete(`tcp ${key}`);
        this.#logger.info({ listener: `tcp ${key}`, service: rt.label, mode: rt.mode }, 'listener open');
        this.#refreshProblems();
      },
      (error: NodeJS.ErrnoException) => {
        if (this.#listeners.get(key) === listener) this.#listeners.delete(key);
        const problem: ListenerProblem = { kind: 'bind', listener: `tcp ${key}`, services: [listener.runtime.label], reason: error.code ?? error.message };
        this.#bindFailures.set(`tcp ${key}`, { retryAt: Date.now() + BIND_RETRY_MS, problem });
        this.#logger.error({ listener: problem.listener, service: listener.runtime.label, reason: problem.reason }, 'cannot listen on a service port; other services are unaffected');
        this.#refreshProblems();
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
      if (this.#table) this.apply(this.#table);
      else void this.#openVhosts();
    }, BIND_RETRY_MS + 50);
    this.#retryTimer.unref();
  }

  #applyUdp(claims: Map<string, Service[]>, problems: ListenerProblem[]): void {
    for (const [key, claimants] of claims) {
      incumbentFirst(claimants, this.#udp.get(key)?.service.key);
      const [first, ...rest] = claimants;
      if (!first) continue;
      if (rest.length > 0) problems.push({ kind: 'clash', listener: `udp ${key}`, services: claimants.map((c) => c.key), reason: `claimed by ${claimants.length} services; ${first.key} has it` });
      let binding = this.#udp.get(key);
      if (binding && binding.service.key !== first.key) {
        void binding.proxy.close();
        this.#metrics.proxyUdpFlows.remove({ service: binding.service.key });
        this.#udp.delete(key);
        binding = undefined;
      }
      if (!binding) {
        const failure = this.#bindFailures.get(`udp ${key}`);
        if (failure && Date.now() < failure.retryAt) continue;
        const rt = this.#runtimes.get(first.key);
        const flowsGauge = new ServiceMetrics(this.#metrics, first.key);
        const proxy = new UdpProxy({
          onStats: ({ flows }) => flowsGauge.udpFlows.set(flows),
          onError: (error) => this.#logger.warn({ listener: `udp ${key}`, err: error }, 'udp listener error'),
          bind: first.bindAddress,
          port: first.listenPort,
          balancer: createBalancer(rt?.algorithm ?? 'roundrobin'),
          idleTimeoutMs: Math.min(this.#options.idleTimeoutMs, 60_000),
          reusePort: this.#options.reusePort === true,
        });
        const created: UdpBinding = { proxy, service: first, upstreams: new Map(), metrics: flowsGauge, ready: false };
        binding = created;
        this.#udp.set(key, created);
        proxy.listen().then(
          () => {
            created.ready = true;
            this.#bindFailures.delete(`udp ${key}`);
            this.#logger.info({ listener: `udp ${key}`, service: first.key }, 'listener open');
          },
          (error: NodeJS.ErrnoException) => {
            if (this.#udp.get(key) === created) this.#udp.delete(key);
            const problem: ListenerProblem = { kind: 'bind', listener: `udp ${key}`, services: [first.key], reason: error.code ?? error.message };
            this.#bindFailures.set(`udp ${key}`, { retryAt: Date.now() + BIND_RETRY_MS, problem });
            this.#logger.error({ listener: problem.listener, service: first.key, reason: problem.reason }, 'cannot listen on a service port; other services are unaffected');
            this.#metrics.proxyUdpFlows.remove({ service: first.key });
            this.#refreshProblems();
            this.#scheduleRetry();
          },
        );
      }
      binding.service = first;
      const next = new Map<string, Upstream>();
      const list: Upstream[] = [];
      for (const b of first.backends) {
        if (!b.routable || b.draining) continue;
        const k = `${b.taskId}@${b.address}:${b.port}`;
        const u = binding.upstreams.get(k) ?? { key: k, address: b.address, port: b.port, active: 0 };
        next.set(k, u);
        list.push(u);
      }
      binding.upstreams.clear();
      for (const [k, u] of next) binding.upstreams.set(k, u);
      binding.proxy.setUpstreams(list);
    }
    for (const [key, binding] of this.#udp) {
      if (claims.has(key)) continue;
      this.#udp.delete(key);
      void binding.proxy.close().then(() => this.#metrics.proxyUdpFlows.remove({ service: binding.service.key }));
    }
  }

  #refreshProblems(): void {
    const problems = [...this.#staticProblems];
    for (const f of this.#bindFailures.values()) problems.push(f.problem);
    for (const v of this.#vhosts) {
      if (v.proto === 'https' && !this.#certs.hasAny) problems.push({ kind: 'certificate', listener: v.address, services: [], reason: 'no certificate: give --tls-cert or HAPROXY_{n}_SSL_CERT' });
    }
    const before = JSON.stringify(this.#problems);
    this.#problems = problems;
    const counts: Record<ListenerProblemKind, number> = { bind: 0, clash: 0, certificate: 0 };
    for (const p of problems) counts[p.kind]++;
    for (const [kind, n] of Object.entries(counts)) this.#metrics.proxyListenerProblems.set({ kind }, n);
    if (JSON.stringify(problems) !== before) {
      for (const p of problems) if (p.kind !== 'bind') this.#logger.warn(p, 'listener problem');
    }
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
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

function listenerKey(bind: string, port: number): string {
  return bind.includes(':') ? `[${bind}]:${port}` : `${bind}:${port}`;
}

function isWildcard(bind: string): boolean {
  return bind === '0.0.0.0' || bind === '::';
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
