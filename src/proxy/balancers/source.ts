/**
 * `source`: the client address picks the upstream, so a client keeps reaching the same one.
 *
 * Rendezvous (highest-random-weight) hashing: every upstream scores `mix(hash(key) ^ hash(client))`
 * and the highest score wins. Adding or removing an upstream only moves the clients that go to, or
 * came from, that upstream; clients of unrelated upstreams stay where they are (HAProxy's `source`
 * with its default map-based hashing reshuffles everyone). Excluded upstreams (retries) are skipped,
 * which sends the client to its second choice. The key hashes are cached per upstream object.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) hash like the IPv4 address. Without a client
 * address (unix sockets), picks fall back to round robin.
 */
import type { Balancer, PickContext, Upstream } from '../balancer.ts';
import { fnv1a32, mix32 } from './hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';

const keyHashes = new WeakMap<Upstream, number>();

function keyHash(upstream: Upstream): number {
  let h = keyHashes.get(upstream);
  if (h === undefined) {
    h = mix32(fnv1a32(upstream.key));
    keyHashes.set(upstream, h);
  }
  return h;
}

/** Hash of a client address; `::ffff:a.b.c.d` hashes as `a.b.c.d`. */
export function clientHash(address: string): number {
  const from = address.length > 7 && address.startsWith('::ffff:') && address.includes('.', 7) ? 7 : 0;
  return mix32(fnv1a32(address, from));
}

export class SourceBalancer implements Balancer {
  readonly #fallback = new RoundRobinBalancer();

  pick(upstreams: readonly Upstream[], context: PickContext, exclude?: ReadonlySet<string>): Upstream | undefined {
    const address = context.clientAddress;
    if (address === undefined || address === '') return this.#fallback.pick(upstreams, context, exclude);
    const client = clientHash(address);
    const skip = exclude !== undefined && exclude.size > 0;
    let best: Upstream | undefined;
    let bestScore = -1;
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[i]!;
      if (skip && exclude.has(upstream.key)) continue;
      const score = mix32(keyHash(upstream) ^ client);
      // Ties (rare) go to the smaller key, so the order of the list never matters.
      if (score > bestScore || (score === bestScore && best !== undefined && upstream.key < best.key)) {
        best = upstream;
        bestScore = score;
      }
    }
    return best;
  }
}
