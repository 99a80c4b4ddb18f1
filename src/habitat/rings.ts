/**
 * Rings and their members, from the routing table. Pure.
 *
 * A ring is every Habitat app with the same ring name (detect.ts). Its members are the apps'
 * **routable** tasks (running and passing their health checks), except the tasks of apps with an
 * error-level problem (validate.ts), each at the address its peers must use:
 * - host networking: the task's IP (its first IPv4 from Marathon, else the agent host) and the
 *   gossip port's host port (the supervisor binds it: `--listen-gossip 0.0.0.0:$PORTn`); without a
 *   declared port, the supervisor's default 9638;
 * - bridge networking: the agent host and the host port (equal to the container port, or the app is
 *   misconfigured);
 * - IP-per-task networking: the task's own IP and the container port (9638 when none is declared).
 * The agent host may be a host name when Marathon reports one: `hab sup run` resolves it.
 *
 * Order: permanent peers first, then by IP (IPv4 numerically), gossip port and task id. The order
 * does not depend on time or on the order of Marathon's answers, so a peer-watch file rewritten from
 * an unchanged ring is byte-for-byte the same.
 */
import { isIP } from 'node:net';
import { ipv4Number } from '../net/ipv4.ts';
import type { AppEntry, RoutingTable, TaskEntry } from '../model/routing-table.ts';
import { DEFAULT_GOSSIP_PORT, DEFAULT_HTTP_PORT, detectHabitat, type Detection, type HabitatApp } from './detect.ts';
import { excludesMembers, validateHabitatApp, type HabitatProblem } from './validate.ts';

export interface RingMember {
  readonly taskId: string;
  readonly app: string;
  /** An IP, or the agent's host name when Marathon gives no IP (bridge networking). */
  readonly ip: string;
  readonly gossipPort: number;
  /** The HTTP gateway's port, when it can be reached; null otherwise. */
  readonly httpPort: number | null;
  readonly permanent: boolean;
  /** Passing its Marathon health checks (or the app has none). */
  readonly healthy: boolean;
  readonly startedAt: string | null;
  /** Agent id (Mesos-DNS naming of the DNS records). */
  readonly agentId: string | undefined;
}

export interface RingApp {
  readonly id: string;
  readonly detection: Detection;
  readonly labelled: boolean;
  readonly permanent: boolean;
  /** The declared gossip port (name, index, protocols), or null when none is declared. */
  readonly gossipPort: { readonly name: string | null; readonly index: number; readonly protocols: readonly string[] } | null;
  readonly httpPort: { readonly name: string | null; readonly index: number } | null;
  /** Live tasks of the app (running, starting, killing, unreachable). */
  readonly tasks: number;
  /** Tasks of the app listed as ring members. */
  readonly members: number;
}

export interface RingCounts {
  /** Listed in the peer list. */
  readonly healthy: number;
  /** Live but not routable (starting, unhealthy, health unknown, killing, unreachable). */
  readonly unhealthy: number;
  /** Routable, but left out: the app is misconfigured, or the task has no usable address yet. */
  readonly excluded: number;
}

export interface Ring {
  readonly name: string;
  readonly apps: readonly RingApp[];
  readonly members: readonly RingMember[];
  readonly counts: RingCounts;
  readonly problems: readonly HabitatProblem[];
}

export interface HabitatView {
  /** Sorted by name. */
  readonly rings: readonly Ring[];
  /** Every app's problems, by app id. */
  readonly problems: readonly HabitatProblem[];
}

export const EMPTY_VIEW: HabitatView = { rings: [], problems: [] };

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Peers order: permanent first, then IPv4 numerically, other addresses after them, then gossip port, then task id. */
export function compareMembers(a: RingMember, b: RingMember): number {
  if (a.permanent !== b.permanent) return a.permanent ? -1 : 1;
  const a4 = isIP(a.ip) === 4;
  const b4 = isIP(b.ip) === 4;
  if (a4 !== b4) return a4 ? -1 : 1;
  const byIp = a4 && b4 ? ipv4Number(a.ip) - ipv4Number(b.ip) : compareStrings(a.ip, b.ip);
  return byIp || a.gossipPort - b.gossipPort || compareStrings(a.taskId, b.taskId);
}

/** The address peers reach a task's supervisor at, or undefined while it has none. */
export function memberAddress(entry: AppEntry, hab: HabitatApp, task: TaskEntry): { ip: string; gossipPort: number; httpPort: number | null } | undefined {
  const gossip = hab.gossipPort;
  const http = hab.httpPort;
  const endpointPort = (index: number | undefined) => (index === undefined ? undefined : task.endpoints[index]?.port);
  if (entry.networkMode === 'container') {
    const ip = task.ipAddresses[0];
    if (ip === undefined) return undefined;
    const inside = (port: typeof gossip, fallback: number) => (port ? (port.containerPort ? port.containerPort : endpointPort(port.index)) : fallback);
    const gossipPort = inside(gossip, DEFAULT_GOSSIP_PORT);
    if (gossipPort === undefined) return undefined;
    return { ip, gossipPort, httpPort: inside(http, DEFAULT_HTTP_PORT) ?? null };
  }
  if (entry.networkMode === 'container/bridge') {
    const gossipPort = endpointPort(gossip?.index);
    if (gossipPort === undefined || task.host === '') return undefined;
    return { ip: task.host, gossipPort, httpPort: endpointPort(http?.index) ?? null };
  }
  const ip = task.ipAddresses.find((a) => isIP(a) === 4) ?? task.ipAddresses[0] ?? (task.host !== '' ? task.host : undefined);
  if (ip === undefined) return undefined;
  const gossipPort = gossip ? endpointPort(gossip.index) : DEFAULT_GOSSIP_PORT;
  if (gossipPort === undefined) return undefined;
  return { ip, gossipPort, httpPort: (http ? endpointPort(http.index) : DEFAULT_HTTP_PORT) ?? null };
}

interface RingBuilder {
  apps: RingApp[];
  members: RingMember[];
  problems: HabitatProblem[];
  healthy: number;
  unhealthy: number;
  excluded: number;
}

/** Every ring of the table, with its members in peer-list order, and every Habitat app's problems. */
export function buildRings(table: RoutingTable): HabitatView {
  const rings = new Map<string, RingBuilder>();
  const problems: HabitatProblem[] = [];
  for (const entry of table.apps) {
    const hab = detectHabitat(entry.app);
    if (!hab) continue;
    let ring = rings.get(hab.ring);
    if (!ring) {
      ring = { apps: [], members: [], problems: [], healthy: 0, unhealthy: 0, excluded: 0 };
      rings.set(hab.ring, ring);
    }
    const appProblems = validateHabitatApp(entry, hab, table.services);
    problems.push(...appProblems);
    ring.problems.push(...appProblems);
    const excluded = excludesMembers(appProblems);
    let members = 0;
    for (const task of entry.tasks) {
      if (!task.routable) {
        ring.unhealthy++;
        continue;
      }
      const address = excluded ? undefined : memberAddress(entry, hab, task);
      if (!address) {
        ring.excluded++;
        continue;
      }
      members++;
      ring.healthy++;
      ring.members.push({
        taskId: task.taskId,
        app: entry.appId,
        ip: address.ip,
        gossipPort: address.gossipPort,
        httpPort: address.httpPort,
        permanent: hab.permanent,
        healthy: task.health === 'healthy' || task.health === 'none',
        startedAt: task.startedAt ?? null,
        agentId: task.agentId,
      });
    }
    ring.apps.push({
      id: entry.appId,
      detection: hab.detection,
      labelled: hab.labelled,
      permanent: hab.permanent,
      gossipPort: hab.gossipPort ? { name: hab.gossipPort.name ?? null, index: hab.gossipPort.index, protocols: [...hab.gossipPort.protocols] } : null,
      httpPort: hab.httpPort ? { name: hab.httpPort.name ?? null, index: hab.httpPort.index } : null,
      tasks: entry.tasks.length,
      members,
    });
  }
  const out: Ring[] = [...rings.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([name, r]) => ({
      name,
      apps: r.apps,
      members: r.members.sort(compareMembers),
      counts: { healthy: r.healthy, unhealthy: r.unhealthy, excluded: r.excluded },
      problems: r.problems,
    }));
  return { rings: out, problems };
}

/** An address as `hab sup run --peer-watch-file` reads it: `ip:port`, IPv6 in brackets. */
export function peerAddress(member: Pick<RingMember, 'ip' | 'gossipPort'>): string {
  return isIP(member.ip) === 6 ? `[${member.ip}]:${member.gossipPort}` : `${member.ip}:${member.gossipPort}`;
}

/** The peer-watch file: one `ip:port` a line, each line ending in a newline; empty for no members. */
export function peerFile(members: readonly RingMember[]): string {
  return members.map((m) => `${peerAddress(m)}\n`).join('');
}

/** A member as the JSON peer list shows it. */
export function memberJson(m: RingMember): Record<string, unknown> {
  return {
    taskId: m.taskId,
    app: m.app,
    ip: m.ip,
    gossipPort: m.gossipPort,
    httpPort: m.httpPort,
    permanent: m.permanent,
    healthy: m.healthy,
    startedAt: m.startedAt,
  };
}
