/**
 * What stops a Habitat app's supervisors from forming a ring, with the reason. Pure.
 *
 * Supervisors record a peer at the source address they see and the port it advertises (the port it
 * binds): shared/reference/habitat.md §A6. So anything between the address a supervisor binds and
 * the address its peers use breaks the ring:
 * - `gossip_port_remapped` (error): bridge networking with a host port other than the container
 *   port. The member advertises the container port, which its peers cannot reach. Its tasks are left
 *   out of the peer lists. Seen on the tasks (the allocated host port), so an app without running
 *   tasks cannot be judged yet.
 * - `gossip_port_missing`: no `hab-gossip` port and none on 9638. Bridge networking: an error (9638
 *   inside the container is unreachable; tasks left out). Host networking: a warning (members are
 *   listed at the agent's 9638, the supervisor's default, which Marathon does not reserve: two tasks
 *   on one agent collide). IP-per-task networking: fine (9638 on the task's own IP).
 * - `gossip_single_protocol` (warning): the gossip port is declared `tcp` or `udp` only. SWIM uses UDP
 *   and rumours use TCP on the same number: declare `"udp,tcp"`.
 * - `gossip_port_proxied` (warning): the gossip port is exposed through pacer's proxy (a service
 *   port with a matching `HAPROXY_GROUP`). Relayed gossip breaks the ring; the peer list and SRV
 *   records carry the real addresses. Set `HAPROXY_{n}_ENABLED=false` on that port.
 * - `unlabelled` (info): found by its `hab-gossip` port or its command, not by `HABITAT_RING`: it
 *   joins ring `default`.
 */
import type { AppEntry, Service } from '../model/routing-table.ts';
import { DEFAULT_GOSSIP_PORT, GOSSIP_PORT_NAME, RING_LABEL, type HabitatApp } from './detect.ts';

export type ProblemReason = 'gossip_port_missing' | 'gossip_port_remapped' | 'gossip_single_protocol' | 'gossip_port_proxied' | 'unlabelled';

/** error: the app's tasks are left out of peer lists; warning: listed, but the ring may break; info: a notice. */
export type Severity = 'error' | 'warning' | 'info';

export const PROBLEM_REASONS: readonly ProblemReason[] = [
  'gossip_port_missing',
  'gossip_port_remapped',
  'gossip_single_protocol',
  'gossip_port_proxied',
  'unlabelled',
];

export interface HabitatProblem {
  readonly appId: string;
  readonly ring: string;
  readonly reason: ProblemReason;
  readonly severity: Severity;
  readonly message: string;
}

/** Problems of one Habitat app. `services` are the table's exposed services (for `gossip_port_proxied`). */
export function validateHabitatApp(entry: AppEntry, hab: HabitatApp, services: readonly Service[] = []): HabitatProblem[] {
  const out: HabitatProblem[] = [];
  const problem = (reason: ProblemReason, severity: Severity, message: string) => out.push({ appId: entry.appId, ring: hab.ring, reason, severity, message });
  const port = hab.gossipPort;

  if (!port) {
    if (entry.networkMode === 'container/bridge') {
      problem(
        'gossip_port_missing',
        'error',
        `no gossip port: bridge networking needs a port mapping named ${GOSSIP_PORT_NAME} (protocol "udp,tcp", hostPort equal to containerPort); its supervisors are left out of peer lists`,
      );
    } else if (entry.networkMode === 'host') {
      problem(
        'gossip_port_missing',
        'warning',
        `no port named ${GOSSIP_PORT_NAME}: members are listed at the agent's ${DEFAULT_GOSSIP_PORT} (the supervisor's default), which Marathon does not reserve; declare {"name":"${GOSSIP_PORT_NAME}","protocol":"udp,tcp"} and pass --listen-gossip 0.0.0.0:$PORTn`,
      );
    }
  } else {
    if (entry.networkMode === 'container/bridge' && port.containerPort !== undefined && port.containerPort > 0) {
      const remapped = entry.tasks
        .map((t) => t.endpoints[port.index]?.port)
        .find((hostPort) => hostPort !== undefined && hostPort !== port.containerPort);
      if (remapped !== undefined) {
        problem(
          'gossip_port_remapped',
          'error',
          `bridge networking remaps the gossip port (container port ${port.containerPort}, host port ${remapped}): supervisors advertise the port they bind, which their peers cannot reach; use host networking, or a hostPort equal to the containerPort; its supervisors are left out of peer lists`,
        );
      }
    }
    if (!(port.protocols.includes('udp') && port.protocols.includes('tcp'))) {
      problem(
        'gossip_single_protocol',
        'warning',
        `the gossip port ${port.name ?? `#${port.index}`} is declared ${port.protocols.join(',')} only: SWIM uses UDP and rumours use TCP on the same number; declare protocol "udp,tcp"`,
      );
    }
    const proxied = services.find((s) => s.appId === entry.appId && s.portIndex === port.index);
    if (proxied) {
      problem(
        'gossip_port_proxied',
        'warning',
        `the gossip port is exposed through pacer's proxy on port ${proxied.listenPort}: relayed gossip breaks the ring (peers record the proxy's address); set HAPROXY_${port.index}_ENABLED=false and use the peer list or the SRV records`,
      );
    }
  }
  if (!hab.labelled) {
    problem(
      'unlabelled',
      'info',
      `Habitat supervisor found by its ${hab.detection === 'port' ? `${GOSSIP_PORT_NAME} port` : 'command'}, without a ${RING_LABEL} label: it joins ring "${hab.ring}"`,
    );
  }
  return out;
}

/** Whether these problems leave the app's tasks out of the peer lists. */
export function excludesMembers(problems: readonly HabitatProblem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
