/**
 * `roundrobin` (HAProxy's default; `static-rr` maps here too): each pick takes the upstream after
 * the previous pick. The cursor is an index kept modulo the current list length, so a change of
 * the list (a task added or removed) continues the rotation where it was instead of restarting at
 * the first upstream. Upstreams named in `exclude` are skipped.
 */
import type { Balancer, PickContext, Upstream } from '../balancer.ts';

export class RoundRobinBalancer implements Balancer {
  #next = 0;

  pick(upstreams: readonly Upstream[], _context: PickContext, exclude?: ReadonlySet<string>): Upstream | undefined {
    const n = upstreams.length;
    if (n === 0) return undefined;
    const start = this.#next % n;
    const skip = exclude !== undefined && exclude.size > 0;
    for (let i = 0; i < n; i++) {
      let index = start + i;
      if (index >= n) index -= n;
      const upstream = upstreams[index]!;
      if (skip && exclude.has(upstream.key)) continue;
      this.#next = index + 1;
      return upstream;
    }
    return undefined;
  }
}
