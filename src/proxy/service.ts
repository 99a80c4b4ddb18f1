/**
 * One service as the proxy runs it: the routing table's `Service` (or several merged, for a
 * blue/green deployment group) plus everything the hot path needs precomputed when the table
 * changes: balancer, access list, HTTP policy, metric children, and its upstreams. A runtime
 * survives table versions: `update()` swaps what changed in place.
 */
import { BlockList, isIPv6 } from 'node:net';
import type { Logger } from '../log.ts';
import type { Backend, Service } from '../model/routing-table.ts';
import type { BasicAuth } from '../model/service-spec.ts';
import type { BalanceAlgorithm, Balancer } from './balancer.ts';
import { createBalancer, parseBalance } from './balancers/index.ts';
import { unmapAddress } from './http/headers.ts';
import type { ServiceMetrics } from './metrics.ts';
import { UpstreamSet, type UpstreamTimeouts } from './upstreams.ts';
import { sameItems } from '../model/same.ts';

/** marathon-lb's HSTS header (`HAPROXY_BACKEND_HSTS_OPTIONS`). */
export const HSTS_VALUE = 'max-age=15768000';
/** marathon-lb's sticky cookie (`HAPROXY_BACKEND_STICKY_OPTIONS`). */
export const STICKY_COOKIE = 'mesosphere_server_id';

export interface HttpPolicy {
  readonly redirectToHttps: boolean;
  readonly hsts: boolean;
  readonly auth: BasicAuth | undefined;
  /** `WWW-Authenticate` value, precomputed. */
  readonly authChallenge: string | undefined;
  readonly backendRedir: string | undefined;
  readonly sticky: boolean;
  readonly proxypassPath: string | undefined;
  /** `HTTP_BACKEND_REVPROXY_PATH` without its trailing `/`: prefixed to relative `Location`s. */
  readonly revproxyPath: string | undefined;
}

export class ServiceRuntime {
  /** Metric label: `<appId>:<port index>`. */
  readonly label: string;
  readonly upstreams: UpstreamSet;
  readonly metrics: ServiceMetrics;
  service: Service;
  /** Other services merged into this one (blue/green deployment group), besides `service`. */
  merged: readonly Service[] = [];
  balancer: Balancer;
  algorithm: BalanceAlgorithm;
  acl: BlockList | undefined;
  policy: HttpPolicy;
  /** Set while the listener is gone and in-flight work drains. */
  closing = false;
  readonly #logger: Logger;

  constructor(service: Service, metrics: ServiceMetrics, timeouts: UpstreamTimeouts, logger: Logger) {
    this.label = service.key;
    this.metrics = metrics;
    this.#logger = logger;
    this.service = service;
    this.upstreams = new UpstreamSet(this.label, metrics, timeouts, logger);
    this.algorithm = this.#algorithm(service);
    this.balancer = createBalancer(this.algorithm);
    this.acl = buildAcl(service.spec.networkAllowedAcl);
    this.policy = buildPolicy(service);
    this.upstreams.update(service.backends);
  }

  get mode(): Service['mode'] {
    return this.service.mode;
  }

  /**
   * Take a new version of the service (and of services merged with it). Nothing to do when they
   * are the objects it has (the table builder keeps the objects of services that did not change).
   */
  update(service: Service, merged: readonly Service[] = []): void {
    if (service === this.service && sameItems(merged, this.merged)) return;
    const specChanged = service.spec !== this.service.spec;
    this.service = service;
    this.merged = merged;
    if (specChanged) {
      const algorithm = this.#algorithm(service);
      if (algorithm !== this.algorithm) {
        this.algorithm = algorithm;
        this.balancer = createBalancer(algorithm);
      }
      this.acl = buildAcl(service.spec.networkAllowedAcl);
      this.policy = buildPolicy(service);
    }
    this.upstreams.update(merged.length === 0 ? service.backends : mergeBackends(service, merged));
  }

  /** Whether a client address may use this service (`BACKEND_NETWORK_ALLOWED_ACL`). */
  allows(address: string | undefined): boolean {
    const acl = this.acl;
    if (!acl) return true;
    const ip = unmapAddress(address);
    return acl.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
  }

  #algorithm(service: Service): BalanceAlgorithm {
    return balanceAlgorithm(service, this.#logger);
  }
}

/** A service's `HAPROXY_{n}_BALANCE` (TCP, HTTP and UDP alike); roundrobin, with a warning, for what pacer does not implement. */
export function balanceAlgorithm(service: Service, logger: Logger): BalanceAlgorithm {
  const parsed = parseBalance(service.spec.balance);
  if (parsed) return parsed;
  logger.warn({ service: service.key, balance: service.spec.balance }, 'HAPROXY_{n}_BALANCE not implemented by pacer: using roundrobin');
  return 'roundrobin';
}

function mergeBackends(service: Service, merged: readonly Service[]): Backend[] {
  const out = [...service.backends];
  for (const m of merged) out.push(...m.backends);
  return out;
}

export function buildAcl(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    try {
      if (prefix === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(prefix), type);
    } catch {
      // The label parser validated entries; anything left over narrows access.
    }
  }
  return list;
}

export function buildPolicy(service: Service): HttpPolicy {
  const spec = service.spec;
  return {
    redirectToHttps: spec.redirectToHttps,
    hsts: spec.useHsts,
    auth: spec.auth,
    authChallenge: spec.auth ? `Basic realm="${spec.auth.realm.replace(/["\\]/g, '')}"` : undefined,
    backendRedir: spec.httpBackendRedir,
    sticky: spec.sticky,
    proxypassPath: spec.proxypassPath,
    revproxyPath: spec.revproxyPath?.replace(/\/$/, ''),
  };
}
