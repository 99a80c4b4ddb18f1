/**
 * `random`: power of two random choices. Two distinct upstreams are drawn at random among those
 * not excluded and the one with fewer `active` wins (the first drawn on a tie). This spreads load
 * almost as well as `leastconn` while avoiding the herd that all-pick-the-least causes when several
 * pickers see the same stale counts. HAProxy's `random` defaults to the same (`random(2)`).
 */
import type { Balancer, PickContext, Upstream } from '../balancer.ts';

export class RandomBalancer implements Balancer {
  readonly #random: () => number;

  /** `random` returns a float in [0, 1); tests may pass a deterministic one. */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(upstreams: readonly Upstream[], _context: PickContext, exclude?: ReadonlySet<string>): Upstream | undefined {
    const n = upstreams.length;
    const skip = exclude !== undefined && exclude.size > 0;
    let eligible = n;
    if (skip) {
      eligible = 0;
      for (let i = 0; i < n; i++) if (!exclude.has(upstreams[i]!.key)) eligible++;
    }
    if (eligible === 0) return undefined;
    if (eligible === 1) return skip ? nth(upstreams, exclude, 0) : upstreams[0];
    const a = Math.floor(this.#random() * eligible) % eligible;
    let b = Math.floor(this.#random() * (eligible - 1)) % (eligible - 1);
    if (b >= a) b++;
    const first = skip ? nth(upstreams, exclude, a) : upstreams[a];
    const second = skip ? nth(upstreams, exclude, b) : upstreams[b];
    if (first === undefined || second === undefined) return first ?? second;
    return second.active < first.active ? second : first;
  }
}

/** The `rank`-th upstream (0-based) not in `exclude`. */
function nth(upstreams: readonly Upstream[], exclude: ReadonlySet<string>, rank: number): Upstream | undefined {
  let left = rank;
  for (let i = 0; i < upstreams.length; i++) {
    const upstream = upstreams[i]!;
    if (exclude.has(upstream.key)) continue;
    if (left === 0) return upstream;
    left--;
  }
  return undefined;
}
