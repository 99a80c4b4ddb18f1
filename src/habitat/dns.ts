/**
 * Ring-wide DNS names for Habitat rings. Pure. The DNS server serves them: `ringRecords` in
 * src/dns/names.ts turns them into zone records (for `buildRecords`, the from-scratch reference, and
 * for the live zone in src/dns/live.ts, which derives them again only when a Habitat app changes).
 * src/dns/ owns the wire; this module only says which names hold which records.
 *
 * For ring `R` (sanitised as one label, as Mesos-DNS sanitises task names) in the zone `D`:
 * - `_hab-gossip._R._udp.habitat.D` and `_hab-gossip._R._tcp.habitat.D` SRV → one target per ring
 *   member, port = its gossip port (the named-port form of Mesos-DNS, with `habitat` for the framework);
 * - `_hab-http._R._tcp.habitat.D` SRV → the members' HTTP gateways (where reachable);
 * - the target of a member is `T-H-S.R.habitat.D` (the task's canonical Mesos-DNS label) with an A
 *   (or AAAA) record holding **the same address as the peer list**. Not the canonical
 *   `T-H-S.<framework>.D` name: that one takes its IP from `--dns-ip-sources`, which for bridge
 *   networking is the container's IP, not the address peers must use. When the member's address is
 *   a host name (bridge networking, Marathon gave no IP), that host name is the target itself;
 * - `R.habitat.D` A/AAAA → every member's IP: `hab sup run --peer R.habitat.D` (hab keeps the first
 *   IPv4, and pacer's answers are shuffled) works when the gossip port is the fixed 9638.
 * Members are the ring's routable tasks only (rings.ts), so the names follow the peer list.
 */
import { isIP } from 'node:net';
import { agentSuffix, canonicalLabel, rfc1123Label, taskHash, toHostname } from '../dns/labels.ts';
import type { RoutingTable } from '../model/routing-table.ts';
import { GOSSIP_PORT_NAME, HTTP_PORT_NAME } from './detect.ts';
import { buildRings, type HabitatView, type RingMember } from './rings.ts';

/** The sub-zone the ring-wide names live in (`habitat.<domain>`). */
export const HABITAT_ZONE_LABEL = 'habitat';

export interface RingDnsRecords {
  /** Owner name, lower case, no trailing dot. */
  readonly name: string;
  /** SRV targets (lower case, no trailing dot): priority 0, weight 1, as every pacer SRV. */
  readonly srv: readonly { readonly target: string; readonly port: number }[];
  readonly a: readonly string[];
  readonly aaaa: readonly string[];
}

/** The label of a member's own name: the canonical Mesos-DNS task label `T-H-S` (`T-H` without an agent id). */
export function memberLabel(member: Pick<RingMember, 'app' | 'taskId' | 'agentId'>): string {
  const T = rfc1123Label(toHostname(member.app).toLowerCase());
  const S = member.agentId === undefined ? '' : agentSuffix(member.agentId);
  return S === '' ? canonicalLabel(T, taskHash(member.taskId), '').replace(/-$/, '') : canonicalLabel(T, taskHash(member.taskId), S);
}

/**
 * Every ring-wide record for the table, by owner name, in a stable order (rings by name, members in
 * peer-list order). `view` may be passed when the caller already built it.
 */
export function ringDnsRecords(table: RoutingTable, domain: string, view: HabitatView = buildRings(table)): RingDnsRecords[] {
  const D = domain.toLowerCase().replace(/\.$/, '');
  const out = new Map<string, { name: string; srv: { target: string; port: number }[]; a: string[]; aaaa: string[] }>();
  const entry = (name: string) => {
    let e = out.get(name);
    if (!e) {
      e = { name, srv: [], a: [], aaaa: [] };
      out.set(name, e);
    }
    return e;
  };
  const addIp = (name: string, ip: string) => {
    const family = isIP(ip);
    const list = family === 4 ? entry(name).a : family === 6 ? entry(name).aaaa : undefined;
    if (list && !list.includes(ip)) list.push(ip);
  };
  const addSrv = (name: string, target: string, port: number) => {
    const srv = entry(name).srv;
    if (!srv.some((s) => s.target === target && s.port === port)) srv.push({ target, port });
  };
  for (const ring of view.rings) {
    const R = rfc1123Label(ring.name);
    if (R === '') continue;
    const base = `${R}.${HABITAT_ZONE_LABEL}.${D}`;
    for (const m of ring.members) {
      let target: string;
      if (isIP(m.ip) !== 0) {
        target = `${memberLabel(m)}.${base}`;
        addIp(target, m.ip);
        addIp(base, m.ip);
      } else {
        target = m.ip.toLowerCase().replace(/\.$/, '');
      }
      addSrv(`_${GOSSIP_PORT_NAME}._${R}._udp.${HABITAT_ZONE_LABEL}.${D}`, target, m.gossipPort);
      addSrv(`_${GOSSIP_PORT_NAME}._${R}._tcp.${HABITAT_ZONE_LABEL}.${D}`, target, m.gossipPort);
      if (m.httpPort !== null) addSrv(`_${HTTP_PORT_NAME}._${R}._tcp.${HABITAT_ZONE_LABEL}.${D}`, target, m.httpPort);
    }
  }
  return [...out.values()];
}
