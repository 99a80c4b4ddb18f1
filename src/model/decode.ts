/**
 * Marathon app and task JSON → the normalised model of `app.ts` (CONTRACT §2.2, §2.3, §3, §4.1).
 *
 * Accepts what Marathon 1.5+ writes and the legacy pre-1.5 fields it still accepts as input (`ports`,
 * `ipAddress` + `discovery.ports`, `container.docker.network` HOST/BRIDGE/USER, `container.docker.portMappings`).
 * `null` and absent are treated alike everywhere. Untrusted input never throws: an unusable app is a `fail`,
 * tolerable oddities are repaired or skipped and named in `problems`.
 *
 * Index alignment is sacred: `AppPort.index` is the `{n}` of `HAPROXY_{n}_*` labels and the task-port cursor of
 * `networking.ts` walks the ports in order, so a malformed port entry is kept in place (its bad number replaced
 * by 0, "none") rather than dropped, and a malformed `task.ports` entry becomes 0 (no endpoint).
 *
 * Written for speed (10,000 apps × 10 tasks well under a second): plain loops, no per-field closures, shared
 * empty constants, and validated JSON arrays/maps reused as-is when nothing needs repairing.
 */
import {
  isTaskState,
  type App,
  type AppPort,
  type HealthCheck,
  type HealthCheckProtocol,
  type NetworkMode,
  type Protocol,
  type Task,
} from './app.ts';
import { healthVerdictFromCounts } from './health.ts';
import { fail, ok, show, type Result } from './result.ts';
import { instanceIdOf } from './task-id.ts';

export interface DecodedApp {
  readonly app: App;
  readonly tasks: readonly Task[];
  readonly problems: readonly string[];
}

type JsonObject = Record<string, unknown>;

const EMPTY_MAP: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_STRINGS: readonly string[] = Object.freeze([]);
const EMPTY_NUMBERS: readonly number[] = Object.freeze([]);
const EMPTY_PORTS: readonly AppPort[] = Object.freeze([]);
const EMPTY_CHECKS: readonly HealthCheck[] = Object.freeze([]);
const EMPTY_TASKS: readonly Task[] = Object.freeze([]);
const EMPTY_PROTOCOLS: readonly Protocol[] = Object.freeze([]);
const TCP: readonly Protocol[] = Object.freeze(['tcp']);
const UDP: readonly Protocol[] = Object.freeze(['udp']);
const UDP_TCP: readonly Protocol[] = Object.freeze(['udp', 'tcp']);

const HEALTH_PROTOCOLS: ReadonlySet<string> = new Set<HealthCheckProtocol>([
  'HTTP',
  'HTTPS',
  'TCP',
  'MESOS_HTTP',
  'MESOS_HTTPS',
  'MESOS_TCP',
  'COMMAND',
]);

// CONTRACT §4.1 defaults.
const DEFAULT_INTERVAL_SECONDS = 60;
const DEFAULT_TIMEOUT_SECONDS = 20;
const DEFAULT_MAX_CONSECUTIVE_FAILURES = 3;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function optString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A port number where absent/null means `dflt`; a bad value is reported and replaced by 0. */
function portOr(v: unknown, dflt: number, where: string, problems: string[]): number {
  if (v === undefined || v === null) return dflt;
  if (isPort(v)) return v;
  problems.push(`${where} ${show(v)} is not a port (0-65535)`);
  return 0;
}

function defineKey(out: Record<string, string>, k: string, v: string): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

/**
 * A string→string map (labels, env). Returns the JSON object itself when every value is a string.
 * With `allowSecrets`, `{"secret": …}` values (env secret references) are skipped silently.
 */
function stringMap(v: unknown, where: string, problems: string[], allowSecrets: boolean): Readonly<Record<string, string>> {
  if (v === undefined || v === null) return EMPTY_MAP;
  if (!isObject(v)) {
    problems.push(`${where} is ${show(v)}, not an object`);
    return EMPTY_MAP;
  }
  let clean = true;
  let any = false;
  for (const k in v) {
    any = true;
    if (typeof v[k] !== 'string') {
      clean = false;
      break;
    }
  }
  if (!any) return EMPTY_MAP;
  if (clean) return v as Readonly<Record<string, string>>;
  const out: Record<string, string> = {};
  for (const k in v) {
    const val = v[k];
    if (typeof val === 'string') defineKey(out, k, val);
    else if (!(allowSecrets && isObject(val) && typeof val['secret'] === 'string')) {
      problems.push(`${where}.${k} is ${show(val)}, not a string`);
    }
  }
  return out;
}

function stringArray(v: unknown, where: string, problems: string[]): readonly string[] {
  if (v === undefined || v === null) return EMPTY_STRINGS;
  if (!Array.isArray(v)) {
    problems.push(`${where} is ${show(v)}, not an array`);
    return EMPTY_STRINGS;
  }
  if (v.length === 0) return EMPTY_STRINGS;
  let clean = true;
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') {
      clean = false;
      break;
    }
  }
  if (clean) return v as readonly string[];
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s === 'string') out.push(s);
    else problems.push(`${where}[${i}] is ${show(s)}, not a string`);
  }
  return out;
}

/** `tcp`, `udp`, `udp,tcp` / `tcp,udp` (any case, spaces tolerated); absent = tcp; unknown = none (reported). */
function protocols(v: unknown, where: string, problems: string[]): readonly Protocol[] {
  if (v === undefined || v === null || v === 'tcp') return TCP;
  if (v === 'udp') return UDP;
  if (v === 'udp,tcp' || v === 'tcp,udp') return UDP_TCP;
  if (typeof v === 'string') {
    let tcp = false;
    let udp = false;
    let bad = false;
    for (const part of v.split(',')) {
      const p = part.trim().toLowerCase();
      if (p === 'tcp') tcp = true;
      else if (p === 'udp') udp = true;
      else bad = true;
    }
    if (!bad) return udp ? (tcp ? UDP_TCP : UDP) : TCP;
  }
  problems.push(`${where} ${show(v)} is not tcp, udp or udp,tcp; the port is not exposed`);
  return EMPTY_PROTOCOLS;
}

/** Host-mode ports: `portDefinitions[]` objects or legacy `ports[]` numbers. */
function portDefinitions(list: readonly unknown[], where: string, problems: string[]): readonly AppPort[] {
  if (list.length === 0) return EMPTY_PORTS;
  const out: AppPort[] = new Array<AppPort>(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const at = `${where}[${i}]`;
    if (isObject(item)) {
      out[i] = {
        index: i,
        servicePort: portOr(item['port'], 0, `${at}.port`, problems),
        name: optString(item['name']),
        protocols: protocols(item['protocol'], `${at}.protocol`, problems),
        containerPort: undefined,
        hasHostPort: true,
        labels: stringMap(item['labels'], `${at}.labels`, problems, false),
      };
    } else {
      // Legacy `ports: [10013, 10015]`; anything else is kept as a placeholder so indices stay aligned.
      let servicePort = 0;
      if (typeof item === 'number') servicePort = portOr(item, 0, at, problems);
      else problems.push(`${at} is ${show(item)}, not a port definition`);
      out[i] = {
        index: i,
        servicePort,
        name: undefined,
        protocols: TCP,
        containerPort: undefined,
        hasHostPort: true,
        labels: EMPTY_MAP,
      };
    }
  }
  return out;
}

/**
 * `container.portMappings` (or legacy `container.docker.portMappings`). A mapping has a host port when
 * `hostPort` is given; in bridge mode an absent `hostPort` becomes 0, i.e. still a (dynamic) host port (§3.1).
 */
function portMappings(list: readonly unknown[], bridge: boolean, where: string, problems: string[]): readonly AppPort[] {
  if (list.length === 0) return EMPTY_PORTS;
  const out: AppPort[] = new Array<AppPort>(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const at = `${where}[${i}]`;
    if (!isObject(item)) {
      problems.push(`${at} is ${show(item)}, not a port mapping`);
      out[i] = {
        index: i,
        servicePort: 0,
        name: undefined,
        protocols: TCP,
        containerPort: 0,
        hasHostPort: bridge,
        labels: EMPTY_MAP,
      };
      continue;
    }
    const hostPort = item['hostPort'];
    const hasHostPort = bridge || (hostPort !== undefined && hostPort !== null);
    if (hostPort !== undefined && hostPort !== null && !isPort(hostPort)) {
      problems.push(`${at}.hostPort ${show(hostPort)} is not a port (0-65535)`);
    }
    out[i] = {
      index: i,
      servicePort: portOr(item['servicePort'], 0, `${at}.servicePort`, problems),
      name: optString(item['name']),
      protocols: protocols(item['protocol'], `${at}.protocol`, problems),
      containerPort: portOr(item['containerPort'], 0, `${at}.containerPort`, problems),
      hasHostPort,
      labels: stringMap(item['labels'], `${at}.labels`, problems, false),
    };
  }
  return out;
}

/** Legacy IP-per-task `ipAddress.discovery.ports[]`: container ports, no host ports, no service ports (§3.1). */
function discoveryPorts(list: readonly unknown[], where: string, problems: string[]): readonly AppPort[] {
  if (list.length === 0) return EMPTY_PORTS;
  const out: AppPort[] = new Array<AppPort>(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const at = `${where}[${i}]`;
    const obj = isObject(item) ? item : undefined;
    if (obj === undefined) problems.push(`${at} is ${show(item)}, not a discovery port`);
    out[i] = {
      index: i,
      servicePort: 0,
      name: obj === undefined ? undefined : optString(obj['name']),
      protocols: obj === undefined ? TCP : protocols(obj['protocol'], `${at}.protocol`, problems),
      containerPort: obj === undefined ? 0 : portOr(obj['number'], 0, `${at}.number`, problems),
      hasHostPort: false,
      labels: obj === undefined ? EMPTY_MAP : stringMap(obj['labels'], `${at}.labels`, problems, false),
    };
  }
  return out;
}

/**
 * The app's networking mode. 1.5+: `networks[].mode` (a network without `mode` is `container`, the RAML default;
 * modes cannot be mixed, so a mix keeps the first and is reported). Legacy (no usable `networks`):
 * `container.docker.network` BRIDGE → container/bridge, USER → container, HOST/NONE → host; else `ipAddress`
 * → container; else host (§3.1, network-api-migration.md).
 */
function networkMode(
  json: JsonObject,
  docker: JsonObject | undefined,
  where: string,
  problems: string[],
): NetworkMode {
  const networks = json['networks'];
  if (Array.isArray(networks) && networks.length > 0) {
    let mode: NetworkMode | undefined;
    for (let i = 0; i < networks.length; i++) {
      const n: unknown = networks[i];
      if (!isObject(n)) {
        problems.push(`${where}.networks[${i}] is ${show(n)}, not a network`);
        continue;
      }
      const m = n['mode'] ?? 'container';
      if (m !== 'host' && m !== 'container' && m !== 'container/bridge') {
        problems.push(`${where}.networks[${i}].mode ${show(m)} is not host, container or container/bridge`);
        continue;
      }
      if (mode === undefined) mode = m;
      else if (mode !== m) problems.push(`${where}.networks mixes ${mode} and ${m}; using ${mode}`);
    }
    if (mode !== undefined) return mode;
  } else if (networks !== undefined && networks !== null && !Array.isArray(networks)) {
    problems.push(`${where}.networks is ${show(networks)}, not an array`);
  }
  const legacy = docker === undefined ? undefined : docker['network'];
  if (legacy !== undefined && legacy !== null) {
    switch (typeof legacy === 'string' ? legacy.toUpperCase() : legacy) {
      case 'BRIDGE':
        return 'container/bridge';
      case 'USER':
        return 'container';
      case 'HOST':
      case 'NONE':
        return 'host';
      default:
        problems.push(`${where}.container.docker.network ${show(legacy)} is not HOST, BRIDGE, USER or NONE`);
    }
  }
  return isObject(json['ipAddress']) ? 'container' : 'host';
}

function appPorts(
  json: JsonObject,
  mode: NetworkMode,
  container: JsonObject | undefined,
  docker: JsonObject | undefined,
  where: string,
  problems: string[],
): readonly AppPort[] {
  if (mode === 'host') {
    // `portDefinitions` is only written for host networking (§2.2); legacy apps may only have `ports`.
    const defs = json['portDefinitions'];
    if (Array.isArray(defs)) return portDefinitions(defs, `${where}.portDefinitions`, problems);
    const legacy = json['ports'];
    if (Array.isArray(legacy)) return portDefinitions(legacy, `${where}.ports`, problems);
    return EMPTY_PORTS;
  }
  const bridge = mode === 'container/bridge';
  const mappings = container === undefined ? undefined : container['portMappings'];
  if (Array.isArray(mappings)) return portMappings(mappings, bridge, `${where}.container.portMappings`, problems);
  const legacyMappings = docker === undefined ? undefined : docker['portMappings'];
  if (Array.isArray(legacyMappings)) {
    return portMappings(legacyMappings, bridge, `${where}.container.docker.portMappings`, problems);
  }
  if (!bridge) {
    const ipAddress = json['ipAddress'];
    const discovery = isObject(ipAddress) ? ipAddress['discovery'] : undefined;
    const ports = isObject(discovery) ? discovery['ports'] : undefined;
    if (Array.isArray(ports)) return discoveryPorts(ports, `${where}.ipAddress.discovery.ports`, problems);
  }
  return EMPTY_PORTS;
}

function healthCheck(item: JsonObject, at: string, problems: string[]): HealthCheck {
  let protocol: HealthCheckProtocol = 'HTTP';
  const p = item['protocol'];
  if (typeof p === 'string' && HEALTH_PROTOCOLS.has(p)) protocol = p as HealthCheckProtocol;
  else if (p !== undefined && p !== null) {
    // Still counted: dropping it would let a task look healthy with one result fewer.
    problems.push(`${at}.protocol ${show(p)} is unknown; treated as HTTP`);
  }
  const rawPort = item['port'];
  const port = rawPort === undefined || rawPort === null ? undefined : isPort(rawPort) ? rawPort : undefined;
  if (rawPort !== undefined && rawPort !== null && port === undefined) {
    problems.push(`${at}.port ${show(rawPort)} is not a port (0-65535)`);
  }
  const rawIndex = item['portIndex'];
  let portIndex: number | undefined;
  if (typeof rawIndex === 'number' && Number.isInteger(rawIndex) && rawIndex >= 0) portIndex = rawIndex;
  else {
    if (rawIndex !== undefined && rawIndex !== null) problems.push(`${at}.portIndex ${show(rawIndex)} is not an index`);
    // Neither given: network checks default to the first port (§4.1); command checks have no port.
    if (port === undefined && protocol !== 'COMMAND') portIndex = 0;
  }
  const rawPath = item['path'];
  const httpish = protocol === 'HTTP' || protocol === 'HTTPS' || protocol === 'MESOS_HTTP' || protocol === 'MESOS_HTTPS';
  const interval = item['intervalSeconds'];
  const timeout = item['timeoutSeconds'];
  const failures = item['maxConsecutiveFailures'];
  return {
    protocol,
    portIndex,
    port,
    path: typeof rawPath === 'string' ? rawPath : httpish ? '/' : undefined,
    intervalSeconds: isCount(interval) ? interval : DEFAULT_INTERVAL_SECONDS,
    timeoutSeconds: isCount(timeout) ? timeout : DEFAULT_TIMEOUT_SECONDS,
    maxConsecutiveFailures: isCount(failures) ? failures : DEFAULT_MAX_CONSECUTIVE_FAILURES,
  };
}

function healthChecks(v: unknown, where: string, problems: string[]): readonly HealthCheck[] {
  if (v === undefined || v === null) return EMPTY_CHECKS;
  if (!Array.isArray(v)) {
    problems.push(`${where}.healthChecks is ${show(v)}, not an array`);
    return EMPTY_CHECKS;
  }
  if (v.length === 0) return EMPTY_CHECKS;
  const out: HealthCheck[] = [];
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    if (isObject(item)) out.push(healthCheck(item, `${where}.healthChecks[${i}]`, problems));
    else problems.push(`${where}.healthChecks[${i}] is ${show(item)}, not a health check`);
  }
  return out;
}

function taskPorts(v: unknown, taskId: string, problems: string[]): readonly number[] {
  if (v === undefined || v === null) return EMPTY_NUMBERS;
  if (!Array.isArray(v)) {
    problems.push(`task ${taskId}.ports is ${show(v)}, not an array`);
    return EMPTY_NUMBERS;
  }
  if (v.length === 0) return EMPTY_NUMBERS;
  let clean = true;
  for (let i = 0; i < v.length; i++) {
    if (!isPort(v[i])) {
      clean = false;
      break;
    }
  }
  if (clean) return v as readonly number[];
  // Keep positions (the port cursor depends on them); 0 means "no usable port".
  const out: number[] = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const p: unknown = v[i];
    if (isPort(p)) out[i] = p;
    else {
      problems.push(`task ${taskId}.ports[${i}] ${show(p)} is not a port (0-65535)`);
      out[i] = 0;
    }
  }
  return out;
}

function ipAddresses(v: unknown): readonly string[] {
  if (!Array.isArray(v) || v.length === 0) return EMPTY_STRINGS;
  let out: string[] | undefined;
  for (let i = 0; i < v.length; i++) {
    const entry: unknown = v[i];
    if (!isObject(entry)) continue;
    const ip = entry['ipAddress'];
    // A literal for the first: pushing to an empty array reserves 17 slots, and there is one per task.
    if (typeof ip === 'string' && ip !== '') {
      if (out) out.push(ip);
      else out = [ip];
    }
  }
  return out ?? EMPTY_STRINGS;
}

function decodeTaskInto(json: unknown, app: App, problems: string[]): Result<Task> {
  if (!isObject(json)) return fail(`task is ${show(json)}, not an object`);
  const id = json['id'];
  if (typeof id !== 'string' || id === '') return fail(`task without a string id (id is ${show(id)})`);
  const state = json['state'];
  if (!isTaskState(state)) return fail(`task ${id}: unknown state ${show(state)}`);

  const version = optString(json['version']);
  let resultCount = 0;
  let allAlive = true;
  const results = json['healthCheckResults'];
  if (Array.isArray(results)) {
    for (let i = 0; i < results.length; i++) {
      const r: unknown = results[i];
      if (!isObject(r)) {
        problems.push(`task ${id}: healthCheckResults[${i}] is ${show(r)}, not a result`);
        continue;
      }
      resultCount++;
      // A result without a boolean `alive` is not evidence of health.
      if (r['alive'] !== true) allAlive = false;
    }
  }
  const appId = json['appId'];
  const slaveId = json['slaveId'];
  const host = json['host'];
  return ok({
    id,
    instanceId: instanceIdOf(id),
    appId: typeof appId === 'string' && appId !== '' ? appId : app.id,
    host: typeof host === 'string' ? host : '',
    agentId: typeof slaveId === 'string' && slaveId !== '' ? slaveId : undefined,
    ipAddresses: ipAddresses(json['ipAddresses']),
    ports: taskPorts(json['ports'], id, problems),
    state,
    // A task without a version (inactive tasks omit it) is judged against the app's own checks.
    health: healthVerdictFromCounts(
      app.healthChecks.length,
      resultCount,
      allAlive,
      version === undefined || version === app.version,
    ),
    version,
    stagedAt: optString(json['stagedAt']),
    startedAt: optString(json['startedAt']),
  });
}

/**
 * A task object (CONTRACT §2.3) in the context of its app (for the health verdict). Tasks in terminal
 * states are still decoded (callers drop them). Fails on a non-object, a missing id or an unknown state.
 */
export function decodeTask(json: unknown, app: App): Result<Task> {
  return decodeTaskInto(json, app, []);
}

/**
 * One element of `/v2/apps` `apps[]` or the `app` of `/v2/apps/{id}`, including embedded `tasks`.
 * Fails when the value is not an object or has no string id; everything else is repaired or skipped
 * and listed in `problems` (tasks that fail to decode are skipped).
 */
export function decodeApp(json: unknown): Result<DecodedApp> {
  if (!isObject(json)) return fail(`app is ${show(json)}, not an object`);
  const rawId = json['id'];
  if (typeof rawId !== 'string' || rawId.trim() === '' || rawId.trim() === '/') {
    return fail(`app without a string id (id is ${show(rawId)})`);
  }
  const trimmed = rawId.trim();
  // Marathon writes absolute ids; resolve a relative one against the root (§5).
  const id = trimmed.charCodeAt(0) === 47 /* / */ ? trimmed : `/${trimmed}`;
  const problems: string[] = [];
  const where = id;

  const rawContainer = json['container'];
  const container = isObject(rawContainer) ? rawContainer : undefined;
  const rawDocker = container === undefined ? undefined : container['docker'];
  const docker = isObject(rawDocker) ? rawDocker : undefined;

  const mode = networkMode(json, docker, where, problems);
  const ports = appPorts(json, mode, container, docker, where, problems);

  const rawVersion = json['version'];
  const rawInstances = json['instances'];
  let instances = 1;
  if (typeof rawInstances === 'number' && Number.isInteger(rawInstances) && rawInstances >= 0) instances = rawInstances;
  else if (rawInstances !== undefined && rawInstances !== null) {
    problems.push(`${where}.instances ${show(rawInstances)} is not a count; using 1`);
  }
  const readiness = json['readinessChecks'];
  const image = docker === undefined ? undefined : docker['image'];

  const app: App = {
    id,
    version: typeof rawVersion === 'string' ? rawVersion : '',
    labels: stringMap(json['labels'], `${where}.labels`, problems, false),
    networkMode: mode,
    ports,
    healthChecks: healthChecks(json['healthChecks'], where, problems),
    hasReadinessChecks: Array.isArray(readiness) && readiness.length > 0,
    instances,
    cmd: optString(json['cmd']),
    args: stringArray(json['args'], `${where}.args`, problems),
    env: stringMap(json['env'], `${where}.env`, problems, true),
    image: typeof image === 'string' && image !== '' ? image : undefined,
    requirePorts: json['requirePorts'] === true,
  };

  let tasks: readonly Task[] = EMPTY_TASKS;
  const rawTasks = json['tasks'];
  if (Array.isArray(rawTasks) && rawTasks.length > 0) {
    const out: Task[] = [];
    for (let i = 0; i < rawTasks.length; i++) {
      const r = decodeTaskInto(rawTasks[i], app, problems);
      if (r.ok) out.push(r.value);
      else problems.push(`${where}: tasks[${i}] skipped: ${r.error}`);
    }
    tasks = out;
  } else if (rawTasks !== undefined && rawTasks !== null && !Array.isArray(rawTasks)) {
    problems.push(`${where}.tasks is ${show(rawTasks)}, not an array`);
  }

  return ok({ app, tasks, problems: boundedProblems(problems) });
}

/** At most this many problems are kept per app (an app with 10,000 bad task ports is one warning, not 10,000). */
export const MAX_PROBLEMS_PER_APP = 20;
/** Longest problem message kept (ids and values are untrusted and may be megabytes long). */
const MAX_PROBLEM_LENGTH = 300;

function clip(text: string): string {
  return text.length > MAX_PROBLEM_LENGTH ? `${text.slice(0, MAX_PROBLEM_LENGTH)}…` : text;
}

function boundedProblems(problems: string[]): readonly string[] {
  if (problems.length === 0) return EMPTY_STRINGS;
  const n = Math.min(problems.length, MAX_PROBLEMS_PER_APP);
  const out: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = clip(problems[i] as string);
  if (problems.length > n) out.push(`… and ${problems.length - n} more problems`);
  return out;
}

/** The id of an app-like value, for naming it in a message; undefined when it has none. */
function idOf(json: unknown): string | undefined {
  return isObject(json) && typeof json['id'] === 'string' ? clip(json['id']) : undefined;
}

/** `decodeApp`, with any unexpected exception (a bug) turned into a failure naming the app: one app never sinks the list. */
function decodeAppSafely(json: unknown): Result<DecodedApp> {
  try {
    return decodeApp(json);
  } catch (error) {
    const id = idOf(json);
    return fail(`${id === undefined ? 'app' : `app ${id}`} could not be decoded: ${clip(String(error))}`);
  }
}

/**
 * `/v2/apps`' apps decoded one at a time, as they arrive (the client streams the list): `add` each
 * element of `apps[]` in order, then take the `result`. A bad app does not sink the others: it is
 * left out and its reason is listed in the top-level `problems`; each decoded app keeps its own.
 */
export class AppListDecoder {
  readonly #apps: DecodedApp[] = [];
  readonly #problems: string[] = [];
  #index = 0;
  #skipped = 0;

  add(json: unknown): void {
    const index = this.#index++;
    const r = decodeAppSafely(json);
    if (r.ok) this.#apps.push(r.value);
    else if (++this.#skipped <= MAX_PROBLEMS_PER_APP) this.#problems.push(`apps[${index}] skipped: ${r.error}`);
  }

  result(): { readonly apps: readonly DecodedApp[]; readonly problems: readonly string[] } {
    const problems = [...this.#problems];
    if (this.#skipped > MAX_PROBLEMS_PER_APP) problems.push(`… and ${this.#skipped - MAX_PROBLEMS_PER_APP} more apps skipped`);
    return { apps: this.#apps, problems };
  }
}

/** `{"apps":[…]}` already parsed → per-app results (as `AppListDecoder`). */
export function decodeAppList(
  json: unknown,
): Result<{ readonly apps: readonly DecodedApp[]; readonly problems: readonly string[] }> {
  if (!isObject(json)) return fail(`app list is ${show(json)}, not an object`);
  const list = json['apps'];
  if (!Array.isArray(list)) return fail(`app list has no "apps" array (apps is ${show(list)})`);
  const decoder = new AppListDecoder();
  for (let i = 0; i < list.length; i++) decoder.add(list[i]);
  return ok(decoder.result());
}

/** `{"app":{…}}` from `GET /v2/apps/{id}`. */
export function decodeAppResponse(json: unknown): Result<DecodedApp> {
  if (!isObject(json)) return fail(`app response is ${show(json)}, not an object`);
  if (!('app' in json) || json['app'] === undefined || json['app'] === null) return fail('app response has no "app"');
  return decodeAppSafely(json['app']);
}

/** FNV-1a over the problem strings. */
function hashProblems(problems: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const p of problems) {
    for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 10, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Remembers the decode problems already reported for each app, so that the caller warns once per
 * app and change, not on every resync. Holds one number per app with problems.
 */
export class AppProblemLog {
  /** App id → a hash of the problems reported for it (a collision only costs one warning). */
  readonly #reported = new Map<string, number>();

  /**
   * The apps among `apps` whose problems are new or changed since they were last reported. With
   * `complete` (a full `/v2/apps` list), apps not in the list are forgotten.
   */
  fresh(apps: readonly DecodedApp[], complete: boolean): { readonly appId: string; readonly problems: readonly string[] }[] {
    const out: { appId: string; problems: readonly string[] }[] = [];
    const seen = complete ? new Set<string>() : undefined;
    for (const { app, problems } of apps) {
      seen?.add(app.id);
      if (problems.length === 0) {
        this.#reported.delete(app.id);
        continue;
      }
      const key = hashProblems(problems);
      if (this.#reported.get(app.id) === key) continue;
      this.#reported.set(app.id, key);
      out.push({ appId: clip(app.id), problems });
    }
    if (seen) for (const id of this.#reported.keys()) if (!seen.has(id)) this.#reported.delete(id);
    return out;
  }
}
