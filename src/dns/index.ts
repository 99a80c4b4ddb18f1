/**
 * Mesos-DNS-compatible DNS for pacer: an authoritative server for `--dns-domain` fed by the routing
 * table, forwarding outside it, and Mesos-DNS's /v1 HTTP API. See docs/dns.md.
 */
import type { Consumer } from '../consumer.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { startDnsServer, type DnsOptions } from './server.ts';

export type { DnsConsumer, DnsOptions } from './server.ts';

/** Start the DNS consumer: it listens (UDP and TCP) before this resolves. */
export async function startDns(options: DnsOptions, context: { logger: Logger; metrics: Metrics }): Promise<Consumer> {
  return startDnsServer(options, context);
}
