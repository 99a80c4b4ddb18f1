// Serialisers that write JSON the way Marathon 1.10 does: field order, omission rules, timestamps.
import { EXTRA_FIELDS, networkMode, servicePorts } from './app-def.ts';
import type {
  AppRecord, Condition, ContainerSpec, Deployment, HealthResult, Instance, Json, JsonObject, Network, PortDefinition, PortMapping,
} from './types.ts';
import { isInactive } from './types.ts';

/** `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in UTC. */
export function timestamp(d: Date = new Date()): string {
  return d.toISOString();
}

/** Never returns the same string twice, so versions stay unique even within one millisecond. */
let lastVersionMs = 0;
export function newVersion(): string {
  const now = Math.max(Date.now(), lastVersionMs + 1);
  lastVersionMs = now;
  return new Date(now).toISOString();
}

function isEmpty(v: Json | undefined): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function portDefinitionJson(p: PortDefinition): JsonObject {
  const o: JsonObject = { port: p.port };
  if (Object.keys(p.labels).length > 0) o['labels'] = p.labels;
  if (p.name !== undefined) o['name'] = p.name;
  o['protocol'] = p.protocol;
  return o;
}

function portMappingJson(p: PortMapping): JsonObject {
  const o: JsonObject = { containerPort: p.containerPort };
  if (p.hostPort !== undefined) o['hostPort'] = p.hostPort;
  o['labels'] = p.labels;
  if (p.name !== undefined) o['name'] = p.name;
  if (p.networkNames !== undefined) o['networkNames'] = p.networkNames;
  o['protocol'] = p.protocol;
  o['servicePort'] = p.servicePort;
  return o;
}

function networkJson(n: Network): JsonObject {
  const o: JsonObject = {};
  if (n.name !== undefined) o['name'] = n.name;
  o['mode'] = n.mode;
  if (n.labels !== undefined && Object.keys(n.labels).length > 0) o['labels'] = n.labels;
  return o;
}

function containerJson(c: ContainerSpec, hostMode: boolean): JsonObject {
  const o: JsonObject = { type: c.type };
  if (c.docker !== undefined) o['docker'] = c.docker;
  o['volumes'] = c.volumes;
  if (!hostMode) o['portMappings'] = c.portMappings.map(portMappingJson);
  return o;
}

/** The App part of AppInfo (no embeds), as Marathon writes it. */
export function appDefinitionJson(rec: AppRecord): JsonObject {
  const s = rec.spec;
  const hostMode = networkMode(s) === 'host';
  const x = s.extra;
  const o: JsonObject = { id: s.id };
  const opt = (k: (typeof EXTRA_FIELDS)[number]): void => {
    const v = x[k];
    if (!isEmpty(v) && v !== undefined) o[k] = v;
  };
  opt('acceptedResourceRoles');
  opt('args');
  o['backoffFactor'] = s.backoffFactor;
  o['backoffSeconds'] = s.backoffSeconds;
  if (s.cmd !== undefined) o['cmd'] = s.cmd;
  opt('constraints');
  if (s.container !== undefined) o['container'] = containerJson(s.container, hostMode);
  o['cpus'] = s.cpus;
  opt('dependencies');
  o['disk'] = s.disk;
  opt('env');
  o['executor'] = s.executor;
  opt('fetch');
  if (s.healthChecks.length > 0) o['healthChecks'] = s.healthChecks.map((h) => h.json);
  o['instances'] = s.instances;
  o['labels'] = s.labels;
  o['maxLaunchDelaySeconds'] = s.maxLaunchDelaySeconds;
  o['mem'] = s.mem;
  o['gpus'] = s.gpus;
  o['networks'] = s.networks.map(networkJson);
  if (hostMode) o['portDefinitions'] = s.portDefinitions.map(portDefinitionJson);
  opt('readinessChecks');
  opt('residency');
  o['requirePorts'] = s.requirePorts;
  opt('secrets');
  opt('taskKillGracePeriodSeconds');
  o['upgradeStrategy'] = { maximumOverCapacity: s.upgradeStrategy.maximumOverCapacity, minimumHealthCapacity: s.upgradeStrategy.minimumHealthCapacity };
  opt('user');
  o['version'] = rec.version;
  o['versionInfo'] = { lastScalingAt: rec.lastScalingAt, lastConfigChangeAt: rec.lastConfigChangeAt };
  o['killSelection'] = s.killSelection;
  o['unreachableStrategy'] = s.unreachableStrategy;
  opt('tty');
  o['role'] = s.role;
  return o;
}

export function taskState(c: Condition): string {
  switch (c) {
    case 'Scheduled': case 'Provisioned': case 'Staging': return 'TASK_STAGING';
    case 'Starting': return 'TASK_STARTING';
    case 'Running': return 'TASK_RUNNING';
    case 'Killing': return 'TASK_KILLING';
    case 'Killed': return 'TASK_KILLED';
    case 'Finished': return 'TASK_FINISHED';
    case 'Failed': return 'TASK_FAILED';
    case 'Error': return 'TASK_ERROR';
    case 'Unreachable': case 'UnreachableInactive': return 'TASK_UNREACHABLE';
    case 'Gone': return 'TASK_GONE';
    case 'Dropped': return 'TASK_DROPPED';
    case 'Unknown': return 'TASK_UNKNOWN';
  }
}

export function healthResultJson(r: HealthResult, instanceId: string): JsonObject {
  const o: JsonObject = { alive: r.alive, consecutiveFailures: r.consecutiveFailures };
  if (r.firstSuccess !== undefined) o['firstSuccess'] = r.firstSuccess;
  o['instanceId'] = instanceId;
  if (r.lastSuccess !== undefined) o['lastSuccess'] = r.lastSuccess;
  if (r.lastFailure !== undefined) o['lastFailure'] = r.lastFailure;
  if (r.lastFailureCause !== undefined) o['lastFailureCause'] = r.lastFailureCause;
  return o;
}

export function taskId(inst: Instance): string {
  return `${inst.instanceId}._app.${inst.incarnation}`;
}

/** Task JSON in wire order. `svcPorts` is filled only by GET /v2/tasks. */
export function taskJson(inst: Instance, role: string, svcPorts: number[] = []): JsonObject {
  const inactive = isInactive(inst.condition);
  const o: JsonObject = {
    appId: inst.appId,
    healthCheckResults: inst.health.flatMap((r) => (r === undefined ? [] : [healthResultJson(r, inst.instanceId)])),
    host: inst.host,
    id: taskId(inst),
    ipAddresses: inst.ipAddresses.map((ip) => ({ ipAddress: ip.ipAddress, protocol: ip.protocol })),
    ports: inactive ? [] : inst.ports,
    servicePorts: svcPorts,
    slaveId: inst.agentId,
    state: taskState(inst.condition),
  };
  if (!inactive) {
    if (inst.stagedAt !== undefined) o['stagedAt'] = inst.stagedAt;
    if (inst.startedAt !== undefined) o['startedAt'] = inst.startedAt;
    o['version'] = inst.version;
  }
  o['localVolumes'] = [];
  o['role'] = role;
  return o;
}

/** Whether GET endpoints list the instance (only-scheduled instances have no agent and are not listed). */
export function isListed(inst: Instance): boolean {
  return inst.condition !== 'Scheduled';
}

export function aggregateHealth(inst: Instance): boolean | null {
  if (inst.healthChecks.length === 0) return null;
  let all = true;
  for (let i = 0; i < inst.healthChecks.length; i++) {
    const r = inst.health[i];
    if (r === undefined) return null;
    if (!r.alive) all = false;
  }
  return all;
}

export function countsJson(instances: readonly Instance[]): JsonObject {
  let staged = 0; let running = 0; let healthy = 0; let unhealthy = 0;
  for (const i of instances) {
    if (!isListed(i)) continue;
    if (i.condition === 'Provisioned' || i.condition === 'Staging' || i.condition === 'Starting') staged++;
    if (i.condition === 'Running') running++;
    const results = i.health.filter((r): r is HealthResult => r !== undefined);
    if (results.length > 0 && results.every((r) => r.alive)) healthy++;
    if (results.some((r) => !r.alive)) unhealthy++;
  }
  return { tasksStaged: staged, tasksRunning: running, tasksHealthy: healthy, tasksUnhealthy: unhealthy };
}

/** Normalised embed names: prefixes `apps.`, `app.`, `group.apps.` stripped. */
export function parseEmbeds(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    for (const part of v.split(',')) {
      const e = part.trim().replace(/^group\.apps\./, '').replace(/^apps\./, '').replace(/^app\./, '');
      if (e !== '') out.add(e);
    }
  }
  return out;
}

export interface AppInfoContext {
  instances: readonly Instance[];
  deployments: readonly Deployment[];
}

/** AppInfo: the definition plus the requested embeds, in Marathon's order. */
export function appInfoJson(rec: AppRecord, embeds: ReadonlySet<string>, ctx: AppInfoContext): JsonObject {
  const o = appDefinitionJson(rec);
  const listed = ctx.instances.filter(isListed);
  const wantTasks = embeds.has('tasks');
  if (embeds.has('counts')) Object.assign(o, countsJson(ctx.instances));
  if (embeds.has('deployments') || wantTasks) o['deployments'] = ctx.deployments.map((d) => ({ id: d.id }));
  if (embeds.has('readiness')) o['readinessCheckResults'] = [];
  if (wantTasks) o['tasks'] = listed.map((i) => taskJson(i, rec.spec.role));
  if (embeds.has('lastTaskFailure') && rec.lastTaskFailure !== undefined) o['lastTaskFailure'] = rec.lastTaskFailure;
  if (embeds.has('taskStats') || embeds.has('failures')) o['tasksStats'] = {};
  return o;
}

export function planJson(d: Deployment): JsonObject {
  return {
    id: d.id,
    steps: d.steps.map((actions) => ({ actions: actions.map((a) => ({ action: a.action, app: a.app })) })),
    version: d.version,
  };
}

export function deploymentInfoJson(d: Deployment): JsonObject {
  const current = d.steps[d.currentStep] ?? [];
  return {
    id: d.id,
    version: d.version,
    affectedApps: d.affectedApps,
    affectedPods: [],
    steps: d.steps.map((actions) => ({ actions: actions.map((a) => ({ action: a.action, app: a.app })) })),
    currentActions: current.map((a) => ({ action: a.action, app: a.app, readinessCheckResults: [] })),
    currentStep: d.currentStep + 1,
    totalSteps: d.steps.length,
  };
}

export { servicePorts };
