/**
 * Which Marathon apps run Habitat supervisors, in which ring, and on which ports. Pure.
 *
 * Detection, in priority order (reference: shared/reference/habitat.md §A7.1):
 * 1. the label `HABITAT_RING=<ring>` (plus `HABITAT_PERMANENT_PEER=true` for permanent peers);
 * 2. a port named `hab-gossip`: ring `default`;
 * 3. a supervisor command in `cmd`/`args` (`hab sup run`, or the old exporter's `init.sh start`):
 *    ring `default`, reported as unlabelled.
 *
 * Ports: the gossip port (SWIM over UDP and gossip over TCP on one number) is the port named
 * `hab-gossip`, else a port whose container port (or, in host mode with `requirePorts`, whose port)
 * is the supervisor's default 9638; the HTTP gateway is `hab-http`, else 9631 the same way. When
 * neither is declared, the supervisor's defaults apply where they can be reached (see rings.ts).
 */
import type { App, AppPort } from '../model/app.ts';

export const GOSSIP_PORT_NAME = 'hab-gossip';
export const HTTP_PORT_NAME = 'hab-http';
export const DEFAULT_GOSSIP_PORT = 9638;
export const DEFAULT_HTTP_PORT = 9631;
export const DEFAULT_RING = 'default';
export const RING_LABEL = 'HABITAT_RING';
export const PERMANENT_PEER_LABEL = 'HABITAT_PERMANENT_PEER';

export type Detection = 'label' | 'port' | 'command';

export interface HabitatApp {
  readonly appId: string;
  readonly ring: string;
  readonly detection: Detection;
  /** Has a `HABITAT_RING` label; otherwise it joins ring `default` and is reported as unlabelled. */
  readonly labelled: boolean;
  /** `HABITAT_PERMANENT_PEER=true`: listed first in peer lists. */
  readonly permanent: boolean;
  /** The declared gossip port, when there is one. */
  readonly gossipPort: AppPort | undefined;
  /** The declared HTTP gateway port, when there is one. */
  readonly httpPort: AppPort | undefined;
}

const SUPERVISOR_COMMAND = /\bhab\s+(?:sup|supervisor)\s+run\b|(?:^|[\s/;&|])(?:\.\/)?init\.sh\s+start\b/;

/** Whether a command line starts a Habitat supervisor (`hab sup run`, the exporter's `./init.sh start`). */
export function isSupervisorCommand(app: Pick<App, 'cmd' | 'args'>): boolean {
  const line = [app.cmd ?? '', ...app.args].join(' ');
  return SUPERVISOR_COMMAND.test(line);
}

/** True for `true`/`t`/`yes`/`y`/`1` (any case), the values marathon-lb reads as true. */
function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(true|t|yes|y|1)$/i.test(value.trim());
}

/** The port named `name`, else the one on the supervisor's default number `fixed`. */
export function findPort(app: Pick<App, 'ports' | 'networkMode' | 'requirePorts'>, name: string, fixed: number): AppPort | undefined {
  const named = app.ports.find((p) => p.name === name);
  if (named) return named;
  if (app.networkMode === 'host') return app.requirePorts ? app.ports.find((p) => p.servicePort === fixed) : undefined;
  return app.ports.find((p) => p.containerPort === fixed);
}

/** The app's Habitat view, or undefined when it does not run a supervisor. */
export function detectHabitat(app: App): HabitatApp | undefined {
  // An app definition is an immutable object, kept as long as it is unchanged: every table
  // (each event) asks again for every app, so the answer is kept with the object.
  const known = detected.get(app);
  if (known !== undefined) return known === NOT_HABITAT ? undefined : known;
  const found = detect(app);
  detected.set(app, found ?? NOT_HABITAT);
  return found;
}

const NOT_HABITAT = Symbol('not habitat');
const detected = new WeakMap<App, HabitatApp | typeof NOT_HABITAT>();

function detect(app: App): HabitatApp | undefined {
  const label = app.labels[RING_LABEL];
  const ring = label?.trim();
  const gossipPort = findPort(app, GOSSIP_PORT_NAME, DEFAULT_GOSSIP_PORT);
  const httpPort = findPort(app, HTTP_PORT_NAME, DEFAULT_HTTP_PORT);
  let detection: Detection;
  if (ring) detection = 'label';
  else if (app.ports.some((p) => p.name === GOSSIP_PORT_NAME)) detection = 'port';
  else if (isSupervisorCommand(app)) detection = 'command';
  else return undefined;
  return {
    appId: app.id,
    ring: ring || DEFAULT_RING,
    detection,
    labelled: detection === 'label',
    permanent: truthy(app.labels[PERMANENT_PEER_LABEL]),
    gossipPort,
    httpPort,
  };
}
