/**
 * Who may use pacer's DNS forwarding (`--dns-forward-allow`): by default loopback and the private,
 * shared and link-local ranges (LOCAL_NETWORKS in config/options.ts), as a cluster's own resolver
 * would allow recursion ("localnets").
 * Everyone else gets REFUSED for names outside the zone, so that a pacer reachable from the
 * internet with `--dns-resolvers` set is not an open resolver. Names in the zone are answered to
 * anyone, as Mesos-DNS does.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { Subnet } from '../config/values.ts';

export class ForwardAllowList {
  readonly #list = new BlockList();

  constructor(subnets: readonly Subnet[]) {
    for (const s of subnets) this.#list.addSubnet(s.network, s.prefix, s.family);
  }

  /** Whether a query from `address` (as a socket reports it) may be forwarded. */
  allows(address: string): boolean {
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return this.#list.check(address.slice(7), 'ipv4');
    return this.#list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
