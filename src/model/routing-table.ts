/**
 * The routing table: what every consumer (proxy, DNS, Habitat, admin) serves. Built from a
 * snapshot by pure functions; immutable and versioned. The version increases only when the table's
 * content changes, so a resync that finds nothing new costs consumers nothing.
 *
 * Vocabulary (Envoy's): a *service* is one exposed app port (a listener plus its cluster of
 * upstream *backends*); downstream = clients, upstream = tasks.
 */
import { sameClusterInfo, type ClusterInfo } from './cluster.ts';
import type { App, AppPort, NetworkMode, Protocol, Task, TaskHealth, TaskState } from './app.ts';
import { isExposed, type ExposureOptions } from './groups.ts';
import { isRoutable } from './health.ts';
import { parseServiceSpecs, type ParsedLabels } from './labels.ts';
import { taskEndpoints, type Endpoint } from './networking.ts';
import { sameItems } from './same.ts';
import type { LabelProblem, ServiceSpec } from './service-spec.ts';
import type { AppState, Snapshot } from './snapshot.ts';

export type ServiceMode = 'tcp' | 'http' | 'udp';

export interface TableOptions extends ExposureOptions {
  /** Route only tasks that pass their Marathon health checks (`--health-check`). */
  readonly healthCheck: boolean;
  /** Default bind address of service-port listeners (`--bind`). */
  readonly bind: string;
}

/** One live task of an app, as every consumer sees it. */
export interface TaskEntry {
  readonly taskId: string;
  readonly instanceId: string;
  readonly appId: string;
  readonly host: string;
  readonly agentId: string | undefined;
  readonly ipAddresses: readonly string[];
  readonly state: TaskState;
  readonly health: TaskHealth;
  /** Takes new traffic: running and (health checks off, or healthy). */
  readonly routable: boolean;
  /** Being killed: no new traffic, existing connections may finish. */
  readonly draining: boolean;
  readonly startedAt: string | undefined;
  readonly version: string | undefined;
  /** Upstream endpoint per app port index (undefined where the task has none yet). */
  readonly endpoints: readonly (Endpoint | undefined)[];
}

/** An upstream of a service: one task's endpoint for the service's port. */
export interface Backend {
  readonly taskId: string;
  readonly address: string;
  readonly port: number;
  readonly host: string;
  readonly health: TaskHealth;
  readonly state: TaskState;
  readonly routable: boolean;
  readonly draining: boolean;
  readonly startedAt: string | undefined;
}

export interface Service {
  /** Stable identity: `<appId>:<portIndex>`. */
  readonly key: string;
  readonly appId: string;
  readonly portIndex: number;
  readonly portName: string | undefined;
  /** The app's service port (0 when Marathon assigned none). */
  readonly servicePort: number;
  /** Port the listener binds: `HAPROXY_{n}_PORT`, else the service port. */
  readonly listenPort: number;
  /** Address the listener binds: `HAPROXY_{n}_BIND_ADDR`, else `--bind`. */
  readonly bindAddress: string;
  readonly protocols: readonly Protocol[];
  /** Mode of the TCP side (`udp` when the port is udp only). */
  readonly mode: ServiceMode;
  readonly spec: ServiceSpec;
  /** Running and draining tasks with an endpoint for this port, sorted by task id. */
  readonly backends: readonly Backend[];
}

/** Every app, exposed on this LB or not: DNS and Habitat serve all of them. */
export interface AppEntry {
  readonly appId: string;
  readonly version: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly networkMode: NetworkMode;
  readonly ports: readonly AppPort[];
  readonly app: App;
  /** Live tasks (running, starting, killing, unreachable), sorted by task id. */
  readonly tasks: readonly TaskEntry[];
}

export interface RoutingTable {
  readonly version: number;
  /** Marathon's /v2/info (leader, Mesos leader, framework name), once known. */
  readonly cluster: ClusterInfo | undefined;
  /** When this version was built (ms since the epoch). */
  readonly builtAt: number;
  /** Exposed services, sorted by listen port, then key. */
  readonly services: readonly Service[];
  /** Every app, sorted by id. */
  readonly apps: readonly AppEntry[];
  readonly problems: readonly LabelProblem[];
  readonly counts: { readonly apps: number; readonly tasks: number; readonly routableBackends: number };
}

export const EMPTY_TABLE: RoutingTable = {
  version: 0,
  cluster: undefined,
  builtAt: 0,
  services: [],
  apps: [],
  problems: [],
  counts: { apps: 0, tasks: 0, routableBackends: 0 },
};

/** What one app contributes to the table. Cached per AppState: unchanged apps cost nothing. */
interface AppRoutes {
  readonly entry: AppEntry;
  readonly services: readonly Service[];
  readonly routableBackends: number;
  /** The app's labels parsed, with their problems (a pure function of the app definition: reused while it is the same object). */
  readonly labels: ParsedLabels;
}

export interface ServiceChange {
  readonly before: Service;
  readonly after: Service;
  readonly backendsAdded: readonly Backend[];
  readonly backendsRemoved: readonly Backend[];
  /** Backends present in both whose state, health or address changed. */
  readonly backendsChanged: readonly Backend[];
  /** Anything but the backends changed (mode, spec, bind address, …). */
  readonly specChanged: boolean;
}

export interface TableDiff {
  readonly added: readonly Service[];
  readonly removed: readonly Service[];
  readonly changed: readonly ServiceChange[];
  /** Ids of apps added, removed or changed. */
  readonly apps: readonly string[];
  /** The cluster info (leader, Mesos leader) changed. */
  readonly cluster: boolean;
}

export function isEmptyDiff(diff: TableDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0 && diff.apps.length === 0 && !diff.cluster;
}

/**
 * Builds tables from snapshots for fixed options, remembering each app's routes by the identity of
 * its AppState so that an event touching one app rebuilds one app.
 */
export class TableBuilder {
  #options: TableOptions;
  #cache = new WeakMap<AppState, AppRoutes>();
  #table: RoutingTable = EMPTY_TABLE;
  /** The routes being served, by app id (updated in place at each build). */
  readonly #routes = new Map<string, AppRoutes>();
  /** Positions in the served table's sorted arrays, for patching them in place. */
  #appIndex: ReadonlyMap<string, number> = new Map();
  #serviceIndex: ReadonlyMap<string, number> = new Map();

  constructor(options: TableOptions) {
    this.#options = options;
  }

  get table(): RoutingTable {
    return this.#table;
  }

  get options(): TableOptions {
    return this.#options;
  }

  /**
   * New options (a config reload): every app's routes are derived again at the next build, which
   * diffs them against the table being served, so consumers see only what really changed.
   */
  reconfigure(options: TableOptions): void {
    this.#options = options;
    this.#cache = new WeakMap();
  }

  /**
   * Build the table for a snapshot. Returns the previous table (same version) when nothing changed.
   * `changedApps`, when given, names every app whose AppState may differ from the last build's
   * (the sync engine knows it for event batches): the build then costs what changed, not what
   * exists. Without it, every app is looked at.
   */
  build(snapshot: Snapshot, now: number = Date.now(), changedApps?: Iterable<string>): { readonly table: RoutingTable; readonly diff: TableDiff } {
    const changes: AppChange[] = [];
    if (changedApps) {
      for (const appId of changedApps) this.#consider(snapshot, appId, changes);
    } else {
      for (const appId of snapshot.apps.keys()) this.#consider(snapshot, appId, changes);
      for (const appId of this.#routes.keys()) if (!snapshot.apps.has(appId)) this.#consider(snapshot, appId, changes);
    }
    const clusterChanged = !sameClusterInfo(this.#table.cluster, snapshot.info);
    if (changes.length === 0 && !clusterChanged) {
      return { table: this.#table, diff: { added: [], removed: [], changed: [], apps: [], cluster: false } };
    }
    const diff = { ...diffApps(changes), cluster: clusterChanged };
    const version = this.#table.version + 1;
    const patched = this.#patch(changes, snapshot.info, version, now);
    for (const [appId, , after] of changes) {
      if (after) this.#routes.set(appId, after);
      else this.#routes.delete(appId);
    }
    if (patched) this.#table = patched;
    else {
      this.#table = assemble(this.#routes, snapshot.info, version, now);
      this.#appIndex = new Map(this.#table.apps.map((a, i) => [a.appId, i]));
      this.#serviceIndex = new Map(this.#table.services.map((sv, i) => [sv.key, i]));
    }
    return { table: this.#table, diff };
  }

  #consider(snapshot: Snapshot, appId: string, changes: AppChange[]): void {
    const before = this.#routes.get(appId);
    const state = snapshot.apps.get(appId);
    if (!state) {
      if (before) changes.push([appId, before, undefined]);
      return;
    }
    let r = this.#cache.get(state);
    if (!r) {
      r = appRoutes(state, this.#options, before?.entry.app === state.app ? before.labels : undefined);
      // Routes equal to the served ones keep their identity, so consumers that cache per
      // AppEntry or Service (DNS, the proxy) see no change.
      if (before && sameAppRoutes(before, r)) r = before;
      this.#cache.set(state, r);
    }
    if (before !== r) changes.push([appId, before, r]);
  }

  /**
   * The common case of an event: apps changed their tasks but kept their services (same keys,
   * same listen ports), so the served table's sorted arrays keep their order and the changed
   * entries are replaced in place. Undefined when the change is of another kind.
   */
  #patch(changes: readonly AppChange[], cluster: ClusterInfo | undefined, version: number, now: number): RoutingTable | undefined {
    const previous = this.#table;
    let apps: AppEntry[] | undefined;
    let services: Service[] | undefined;
    let tasks = previous.counts.tasks;
    let routableBackends = previous.counts.routableBackends;
    let problemsChanged = false;
    for (const [appId, before, after] of changes) {
      const appAt = this.#appIndex.get(appId);
      if (!before || !after || appAt === undefined || before.services.length !== after.services.length) return undefined;
      for (let i = 0; i < after.services.length; i++) {
        const b = before.services[i] as Service;
        const a = after.services[i] as Service;
        if (a.key !== b.key || a.listenPort !== b.listenPort) return undefined;
      }
      apps ??= previous.apps.slice();
      services ??= previous.services.slice();
      apps[appAt] = after.entry;
      for (const sv of after.services) {
        const at = this.#serviceIndex.get(sv.key);
        if (at === undefined) return undefined;
        services[at] = sv;
      }
      tasks += after.entry.tasks.length - before.entry.tasks.length;
      routableBackends += after.routableBackends - before.routableBackends;
      if (before.labels.problems !== after.labels.problems && JSON.stringify(before.labels.problems) !== JSON.stringify(after.labels.problems)) problemsChanged = true;
    }
    let problems = previous.problems;
    if (problemsChanged) {
      const all: LabelProblem[] = [];
      for (const [appId, r] of this.#routes) {
        const changed = changes.find((c) => c[0] === appId);
        for (const p of (changed ? changed[2] : r)?.labels.problems ?? []) all.push(p);
      }
      problems = all;
    }
    return {
      version,
      cluster,
      builtAt: now,
      services: services ?? previous.services,
      apps: apps ?? previous.apps,
      problems,
      counts: { apps: previous.counts.apps, tasks, routableBackends },
    };
  }
}

function assemble(routes: ReadonlyMap<string, AppRoutes>, cluster: ClusterInfo | undefined, version: number, now: number): RoutingTable {
  const services: Service[] = [];
  const apps: AppEntry[] = [];
  const problems: LabelProblem[] = [];
  let tasks = 0;
  let routableBackends = 0;
  for (const r of routes.values()) {
    for (const s of r.services) services.push(s);
    apps.push(r.entry);
    for (const p of r.labels.problems) problems.push(p);
    tasks += r.entry.tasks.length;
    routableBackends += r.routableBackends;
  }
  services.sort(compareServices);
  apps.sort((a, b) => compareStrings(a.appId, b.appId));
  return { version, cluster, builtAt: now, services, apps, problems, counts: { apps: apps.length, tasks, routableBackends } };
}

/** The table's order of services: by listen port, then by key. */
export function compareServices(a: Service, b: Service): number {
  return a.listenPort - b.listenPort || compareStrings(a.key, b.key);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `labels`: the app's labels parsed already (when its definition did not change). */
function appRoutes(state: AppState, options: TableOptions, labels?: ParsedLabels): AppRoutes {
  const { app } = state;
  const sortedTasks = [...state.tasks.values()].sort((a, b) => compareStrings(a.id, b.id));
  const tasks = sortedTasks.map((task) => taskEntry(app, task, options.healthCheck));
  const entry: AppEntry = {
    appId: app.id,
    version: app.version,
    labels: app.labels,
    networkMode: app.networkMode,
    ports: app.ports,
    app,
    tasks,
  };
  const parsed = labels ?? parseServiceSpecs(app.id, app.labels, app.ports.length);
  const { specs } = parsed;
  const services: Service[] = [];
  let routableBackends = 0;
  for (const port of app.ports) {
    const spec = specs[port.index];
    if (!spec || !isExposed(spec, options)) continue;
    const listenPort = spec.port ?? port.servicePort;
    if (listenPort <= 0) continue;
    const backends: Backend[] = [];
    for (const t of tasks) {
      if (t.state !== 'TASK_RUNNING' && t.state !== 'TASK_KILLING') continue;
      const endpoint = t.endpoints[port.index];
      if (!endpoint) continue;
      if (t.routable) routableBackends++;
      backends.push({
        taskId: t.taskId,
        address: endpoint.address,
        port: endpoint.port,
        host: t.host,
        health: t.health,
        state: t.state,
        routable: t.routable,
        draining: t.draining,
        startedAt: t.startedAt,
      });
    }
    services.push({
      key: `${app.id}:${port.index}`,
      appId: app.id,
      portIndex: port.index,
      portName: port.name,
      servicePort: port.servicePort,
      listenPort,
      bindAddress: spec.bindAddr ?? options.bind,
      protocols: port.protocols,
      mode: serviceMode(app, port, spec),
      spec,
      backends,
    });
  }
  return { entry, services, routableBackends, labels: parsed };
}

function taskEntry(app: App, task: Task, useHealthChecks: boolean): TaskEntry {
  return {
    taskId: task.id,
    instanceId: task.instanceId,
    appId: task.appId,
    host: task.host,
    agentId: task.agentId,
    ipAddresses: task.ipAddresses,
    state: task.state,
    health: task.health,
    routable: isRoutable(task, useHealthChecks),
    draining: task.state === 'TASK_KILLING',
    startedAt: task.startedAt,
    version: task.version,
    endpoints: taskEndpoints(app, task),
  };
}

/**
 * Mode of a port, as marathon-lb chose it: `HAPROXY_{n}_MODE`, else `http` when the port has a
 * virtual host or an HTTP health check, else `tcp`; `udp` when the port speaks udp only.
 */
export function serviceMode(app: App, port: AppPort, spec: ServiceSpec): ServiceMode {
  if (!port.protocols.includes('tcp')) return 'udp';
  if (spec.mode) return spec.mode;
  if (spec.vhosts.length > 0) return 'http';
  for (const check of app.healthChecks) {
    if (check.protocol !== 'HTTP' && check.protocol !== 'MESOS_HTTP') continue;
    if (check.port === undefined && (check.portIndex ?? 0) === port.index) return 'http';
  }
  return 'tcp';
}

/**
 * Whether two derivations of an app's routes are the same. For the same app definition (the usual
 * case: an event changed tasks) the labels, specs and problems are the same objects, so only the
 * tasks and backends are compared, field by field, stopping at the first difference.
 */
function sameAppRoutes(a: AppRoutes, b: AppRoutes): boolean {
  if (a.entry.app !== b.entry.app || a.labels !== b.labels) return JSON.stringify(a) === JSON.stringify(b);
  if (a.routableBackends !== b.routableBackends || a.services.length !== b.services.length) return false;
  const ta = a.entry.tasks;
  const tb = b.entry.tasks;
  if (ta.length !== tb.length) return false;
  for (let i = 0; i < ta.length; i++) if (!sameTaskEntry(ta[i]!, tb[i]!)) return false;
  for (let i = 0; i < a.services.length; i++) {
    const sa = a.services[i]!;
    const sb = b.services[i]!;
    if (sa.key !== sb.key || sa.listenPort !== sb.listenPort || sa.bindAddress !== sb.bindAddress || sa.mode !== sb.mode || sa.spec !== sb.spec) return false;
    if (sa.backends.length !== sb.backends.length) return false;
    for (let j = 0; j < sa.backends.length; j++) if (!sameBackend(sa.backends[j]!, sb.backends[j]!)) return false;
  }
  return true;
}

function sameTaskEntry(a: TaskEntry, b: TaskEntry): boolean {
  if (
    a.taskId !== b.taskId ||
    a.instanceId !== b.instanceId ||
    a.appId !== b.appId ||
    a.host !== b.host ||
    a.agentId !== b.agentId ||
    a.state !== b.state ||
    a.health !== b.health ||
    a.routable !== b.routable ||
    a.draining !== b.draining ||
    a.startedAt !== b.startedAt ||
    a.version !== b.version ||
    a.endpoints.length !== b.endpoints.length ||
    !sameItems(a.ipAddresses, b.ipAddresses)
  ) {
    return false;
  }
  for (let i = 0; i < a.endpoints.length; i++) {
    const ea = a.endpoints[i];
    const eb = b.endpoints[i];
    if (ea === eb) continue;
    if (!ea || !eb || ea.address !== eb.address || ea.port !== eb.port) return false;
  }
  return true;
}

function sameBackend(a: Backend, b: Backend): boolean {
  return (
    a.taskId === b.taskId &&
    a.address === b.address &&
    a.port === b.port &&
    a.host === b.host &&
    a.health === b.health &&
    a.state === b.state &&
    a.routable === b.routable &&
    a.draining === b.draining &&
    a.startedAt === b.startedAt
  );
}

/** One app whose routes differ from the served ones: [app id, before, after]. */
type AppChange = readonly [string, AppRoutes | undefined, AppRoutes | undefined];

function diffApps(changes: readonly AppChange[]): Omit<TableDiff, 'cluster'> {
  const added: Service[] = [];
  const removed: Service[] = [];
  const changed: ServiceChange[] = [];
  for (const [, before, after] of changes) {
    const old = new Map((before?.services ?? []).map((sv) => [sv.key, sv]));
    for (const service of after?.services ?? []) {
      const previous = old.get(service.key);
      old.delete(service.key);
      if (!previous) added.push(service);
      else {
        const change = diffService(previous, service);
        if (change) changed.push(change);
      }
    }
    for (const service of old.values()) removed.push(service);
  }
  return { added, removed, changed, apps: changes.map((c) => c[0]) };
}

/** A backend's identity across table versions, `taskId@address:port` (the proxy's upstreams are known by it, and its balancers exclude by it). */
export function backendKey(b: Pick<Backend, 'taskId' | 'address' | 'port'>): string {
  return `${b.taskId}@${b.address}:${b.port}`;
}

export function diffService(before: Service, after: Service): ServiceChange | undefined {
  const old = new Map(before.backends.map((b) => [backendKey(b), b]));
  const backendsAdded: Backend[] = [];
  const backendsChanged: Backend[] = [];
  for (const b of after.backends) {
    const key = backendKey(b);
    const previous = old.get(key);
    old.delete(key);
    if (!previous) backendsAdded.push(b);
    else if (previous.routable !== b.routable || previous.draining !== b.draining || previous.health !== b.health || previous.state !== b.state) {
      backendsChanged.push(b);
    }
  }
  const backendsRemoved = [...old.values()];
  const specChanged =
    before.listenPort !== after.listenPort ||
    before.bindAddress !== after.bindAddress ||
    before.mode !== after.mode ||
    before.portName !== after.portName ||
    before.servicePort !== after.servicePort ||
    before.protocols.join(',') !== after.protocols.join(',') ||
    JSON.stringify(before.spec) !== JSON.stringify(after.spec);
  if (!specChanged && backendsAdded.length === 0 && backendsRemoved.length === 0 && backendsChanged.length === 0) return undefined;
  return { before, after, backendsAdded, backendsRemoved, backendsChanged, specChanged };
}
