/**
 * The proxy's metric children, resolved once per service on first use (prom-client's `labels()`
 * hashes its arguments: too dear for every request), and removed when the service goes. The
 * per-backend series are read from the upstreams' own state when scraped (`serveBackends`): no
 * prom-client object per backend. Labels never carry task ids or client addresses: `service` is
 * `<appId>:<port index>`, `backend` is `address:port`.
 */
import type { MetricValue } from 'prom-client';
import type { CollectedMetric, Metrics, SeriesSource } from '../metrics/registry.ts';

interface Inc {
  inc(value?: number): void;
}
interface Gauge1 {
  inc(value?: number): void;
  dec(value?: number): void;
  set(value: number): void;
}
interface Observe {
  observe(value: number): void;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** One backend as its series read it (an `UpstreamState`). */
export interface BackendCounters {
  /** `address:port`: the `backend` label. */
  readonly name: string;
  /** Takes new traffic: `pacer_backend_up` 1. */
  readonly up: boolean;
  readonly connectErrors: number;
  readonly ejectionsTotal: number;
}

export class ServiceMetrics {
  readonly service: string;
  readonly #metrics: Metrics;
  readonly #requests = new Map<string, Inc>();
  // Children made on first use: prom-client's `labels()` binds a function per method, and a series
  // appears only when first set or counted anyway, so a service without traffic costs nothing.
  #duration: Observe | undefined;
  #tcpOpen: Gauge1 | undefined;
  #httpOpen: Gauge1 | undefined;
  #bytesIn: Inc | undefined;
  #bytesOut: Inc | undefined;
  #retries: Inc | undefined;
  #udpFlows: Gauge1 | undefined;
  #backends: BackendSeries | undefined;

  constructor(metrics: Metrics, service: string) {
    this.#metrics = metrics;
    this.service = service;
  }

  get duration(): Observe {
    return (this.#duration ??= this.#metrics.proxyRequestDuration.labels({ service: this.service }));
  }

  get tcpOpen(): Gauge1 {
    return (this.#tcpOpen ??= this.#metrics.proxyOpenConnections.labels({ service: this.service, protocol: 'tcp' }));
  }

  get httpOpen(): Gauge1 {
    return (this.#httpOpen ??= this.#metrics.proxyOpenConnections.labels({ service: this.service, protocol: 'http' }));
  }

  get bytesIn(): Inc {
    return (this.#bytesIn ??= this.#metrics.proxyBytes.labels({ service: this.service, direction: 'in' }));
  }

  get bytesOut(): Inc {
    return (this.#bytesOut ??= this.#metrics.proxyBytes.labels({ service: this.service, direction: 'out' }));
  }

  get retries(): Inc {
    return (this.#retries ??= this.#metrics.proxyRetries.labels({ service: this.service }));
  }

  get udpFlows(): Gauge1 {
    return (this.#udpFlows ??= this.#metrics.proxyUdpFlows.labels({ service: this.service }));
  }

  /** Count one answered request. */
  request(method: string, code: number): void {
    const m = METHODS.has(method) ? method : 'OTHER';
    const key = `${m}${code}`;
    let child = this.#requests.get(key);
    if (!child) {
      child = this.#metrics.proxyRequests.labels({ service: this.service, method: m, code: String(code) });
      this.#requests.set(key, child);
    }
    child.inc();
  }

  /**
   * Serve the per-backend series (`pacer_backend_up`, `pacer_backend_connect_errors_total`,
   * `pacer_backend_ejections_total`) of this service from `backends`, read at each scrape: a
   * backend's series are there while it is in the set (the counters from their first count on).
   */
  serveBackends(backends: () => Iterable<BackendCounters>): void {
    if (this.#backends) this.#unserveBackends();
    this.#backends = new BackendSeries(this.#metrics, this.service, backends);
    this.#metrics.proxyBackendUp.add(this.#backends);
    this.#metrics.proxyBackendConnectErrors.add(this.#backends);
    this.#metrics.proxyBackendEjections.add(this.#backends);
  }

  #unserveBackends(): void {
    const b = this.#backends;
    if (!b) return;
    this.#backends = undefined;
    this.#metrics.proxyBackendUp.delete(b);
    this.#metrics.proxyBackendConnectErrors.delete(b);
    this.#metrics.proxyBackendEjections.delete(b);
  }

  /** Remove every series of this service. */
  remove(): void {
    const m = this.#metrics;
    const service = this.service;
    for (const key of this.#requests.keys()) {
      const method = key.replace(/\d+$/, '');
      m.proxyRequests.remove({ service, method, code: key.slice(method.length) });
    }
    this.#requests.clear();
    m.proxyRequestDuration.remove({ service });
    m.proxyOpenConnections.remove({ service, protocol: 'tcp' });
    m.proxyOpenConnections.remove({ service, protocol: 'http' });
    m.proxyBytes.remove({ service, direction: 'in' });
    m.proxyBytes.remove({ service, direction: 'out' });
    m.proxyRetries.remove({ service });
    m.proxyUdpFlows.remove({ service });
    this.#unserveBackends();
  }
}

/** The per-backend series of one service, written at scrape time. */
class BackendSeries implements SeriesSource {
  readonly #metrics: Metrics;
  readonly #service: string;
  readonly #backends: () => Iterable<BackendCounters>;

  constructor(metrics: Metrics, service: string, backends: () => Iterable<BackendCounters>) {
    this.#metrics = metrics;
    this.#service = service;
    this.#backends = backends;
  }

  collect(metric: CollectedMetric, out: MetricValue<string>[]): void {
    const m = this.#metrics;
    const which = metric === m.proxyBackendUp ? 'up' : metric === m.proxyBackendConnectErrors ? 'errors' : 'ejections';
    // Two tasks can have the same address:port (one draining, one new): one series for both, up
    // when either is, counters added.
    let byName: Map<string, MetricValue<string>> | undefined;
    for (const b of this.#backends()) {
      const value = which === 'up' ? (b.up ? 1 : 0) : which === 'errors' ? b.connectErrors : b.ejectionsTotal;
      if (which !== 'up' && value === 0) continue; // a counter's series starts at its first count
      byName ??= new Map();
      const seen = byName.get(b.name);
      if (seen) seen.value = which === 'up' ? Math.max(seen.value, value) : seen.value + value;
      else {
        const series = { labels: { service: this.#service, backend: b.name }, value };
        byName.set(b.name, series);
        out.push(series);
      }
    }
  }
}
