/**
 * Balancer factory and the `HAPROXY_{n}_BALANCE` parser. One module per algorithm:
 * `round-robin.ts`, `least-conn.ts`, `source.ts`, `random.ts`. Each balancer instance keeps its own
 * cursor, so create one per service (per listener), not one per process.
 */
import type { BalanceAlgorithm, Balancer } from '../balancer.ts';
import { LeastConnBalancer } from './least-conn.ts';
import { RandomBalancer } from './random.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import { SourceBalancer } from './source.ts';

export { LeastConnBalancer } from './least-conn.ts';
export { RandomBalancer } from './random.ts';
export { RoundRobinBalancer } from './round-robin.ts';
export { SourceBalancer } from './source.ts';

export function createBalancer(algorithm: BalanceAlgorithm): Balancer {
  switch (algorithm) {
    case 'roundrobin': return new RoundRobinBalancer();
    case 'leastconn': return new LeastConnBalancer();
    case 'source': return new SourceBalancer();
    case 'random': return new RandomBalancer();
  }
}

/**
 * Parse a `HAPROXY_{n}_BALANCE` value (case-insensitive, surrounding blanks ignored).
 * `roundrobin`, `static-rr` (as roundrobin: pacer has no weights, so they are the same), `leastconn`,
 * `source`, `random` and `random(2)` (power of two choices is what pacer's random does).
 * Returns undefined for what pacer does not implement: `first`, `uri`, `url_param`, `hdr(...)`,
 * `rdp-cookie`, `random(N)` with N ≠ 2, `hash ...`, or anything else; the caller reports the label
 * and falls back to roundrobin.
 */
export function parseBalance(value: string): BalanceAlgorithm | undefined {
  switch (value.trim().toLowerCase()) {
    case 'roundrobin':
    case 'static-rr':
      return 'roundrobin';
    case 'leastconn':
      return 'leastconn';
    case 'source':
      return 'source';
    case 'random':
    case 'random(2)':
      return 'random';
    default:
      return undefined;
  }
}
