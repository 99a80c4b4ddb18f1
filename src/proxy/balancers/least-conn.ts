/**
 * `leastconn`: the upstream with the fewest `active` connections or requests. Ties are broken
 * round-robin: the scan starts after the previous pick and only a strictly smaller count replaces
 * the candidate, so equally loaded upstreams take turns (with no traffic in flight this is plain
 * round robin, as in HAProxy).
 */
import type { Balancer, PickContext, Upstream } from '../balancer.ts';

export class LeastConnBalancer implements Balancer {
  #next = 0;

  pick(upstreams: readonly Upstream[], _context: PickContext, exclude?: ReadonlySet<string>): Upstream | undefined {
    const n = upstreams.length;
    if (n === 0) return undefined;
    const start = this.#next % n;
    const skip = exclude !== undefined && exclude.size > 0;
    let best: Upstream | undefined;
    let bestIndex = 0;
    for (let i = 0; i < n; i++) {
      let index = start + i;
      if (index >= n) index -= n;
      const upstream = upstreams[index]!;
      if (skip && exclude.has(upstream.key)) continue;
      if (best === undefined || upstream.active < best.active) {
        best = upstream;
        bestIndex = index;
      }
    }
    if (best !== undefined) this.#next = bestIndex + 1;
    return best;
  }
}
