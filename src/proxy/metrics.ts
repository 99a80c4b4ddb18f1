/**
 * The proxy's metric children, resolved once per service and per backend (prom-client's `labels()`
 * hashes its arguments: too dear for every request), and removed when the service or backend goes.
 * Labels never carry task ids or client addresses: `service` is `<appId>:<port index>`, `backend`
 * is `address:port`.
 */
import type { Metrics } from '../metrics/registry.ts';

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

export class ServiceMetrics {
  readonly service: string;
  readonly #metrics: Metrics;
  readonly #requests = new Map<string, Inc>();
  readonly duration: Observe;
  readonly tcpOpen: Gauge1;
  readonly httpOpen: Gauge1;
  readonly bytesIn: Inc;
  readonly bytesOut: Inc;
  readonly retries: Inc;
  readonly udpFlows: Gauge1;

  constructor(metrics: Metrics, service: string) {
    this.#metrics = metrics;
    this.service = service;
    this.duration = metrics.proxyRequestDuration.labels({ service });
    this.tcpOpen = metrics.proxyOpenConnections.labels({ service, protocol: 'tcp' });
    this.httpOpen = metrics.proxyOpenConnections.labels({ service, protocol: 'http' });
    this.bytesIn = metrics.proxyBytes.labels({ service, direction: 'in' });
    this.bytesOut = metrics.proxyBytes.labels({ service, direction: 'out' });
    this.retries = metrics.proxyRetries.labels({ service });
    this.udpFlows = metrics.proxyUdpFlows.labels({ service });
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

  backend(backend: string): BackendMetrics {
    return new BackendMetrics(this.#metrics, this.service, backend);
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
  }
}

export class BackendMetrics {
  readonly #metrics: Metrics;
  readonly #labels: { service: string; backend: string };
  readonly up: Gauge1;
  readonly connectErrors: Inc;
  readonly ejections: Inc;

  constructor(metrics: Metrics, service: string, backend: string) {
    this.#metrics = metrics;
    this.#labels = { service, backend };
    this.up = metrics.proxyBackendUp.labels(this.#labels);
    this.connectErrors = metrics.proxyBackendConnectErrors.labels(this.#labels);
    this.ejections = metrics.proxyBackendEjections.labels(this.#labels);
  }

  remove(): void {
    this.#metrics.proxyBackendUp.remove(this.#labels);
    this.#metrics.proxyBackendConnectErrors.remove(this.#labels);
    this.#metrics.proxyBackendEjections.remove(this.#labels);
  }
}
