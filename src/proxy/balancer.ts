/**
 * The contract between a service's listener and its load-balancing algorithm (one small module
 * per algorithm under `balancers/`, as Traefik keeps its load balancers). The proxy keeps the list
 * of upstreams that take new traffic and their live counters; a balancer only picks.
 */

/** One upstream endpoint of a service, as the proxy tracks it. */
export interface Upstream {
  /** Stable identity across table versions: `<taskId>@<address>:<port>`. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Connections (TCP) or requests (HTTP) in flight to it now; maintained by the proxy. */
  active: number;
}

export interface PickContext {
  /** Downstream client address, for `source` hashing. */
  readonly clientAddress: string | undefined;
}

export interface Balancer {
  /**
   * Pick one of `upstreams` (all of them take new traffic; never empty when called), or undefined.
   * `exclude` holds keys already tried for this request or connection (retries go elsewhere).
   * Called on the hot path: no allocation per call beyond what the algorithm needs.
   */
  pick(upstreams: readonly Upstream[], context: PickContext, exclude?: ReadonlySet<string>): Upstream | undefined;
}

/** `HAPROXY_{n}_BALANCE` values pacer implements. */
export type BalanceAlgorithm = 'roundrobin' | 'leastconn' | 'source' | 'random';
