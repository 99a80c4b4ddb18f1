// Turns an app definition as a client sends it (1.5+ API or legacy 1.4 fields) into a normalised AppSpec.
import type {
  AppSpec, ContainerSpec, HealthCheckSpec, Json, JsonObject, Network, NetworkMode, PortDefinition, PortMapping,
} from './types.ts';
import { isJsonObject } from './types.ts';

export class ValidationError extends Error {
  readonly details: Array<{ path: string; errors: string[] }>;
  constructor(details: Array<{ path: string; errors: string[] }>) {
    super('Object is not valid');
    this.details = details;
  }
}

const SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

/** Canonical absolute path: leading/trailing/duplicate `/` stripped, `.`/`..` resolved. */
export function canonicalPath(raw: string): string {
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') { out.pop(); continue; }
    out.push(seg);
  }
  return '/' + out.join('/');
}

export function validateAppId(id: string): string | undefined {
  if (id === '/') return 'Path must contain at least one path element';
  const segs = id.slice(1).split('/');
  for (const s of segs) {
    if (!SEGMENT.test(s)) {
      return `must fully match regular expression '${SEGMENT.source}'`;
    }
  }
  const last = segs[segs.length - 1];
  if (last === 'restart' || last === 'tasks' || last === 'versions') {
    return `'${last}' is a reserved name for the last path element`;
  }
  return undefined;
}

/** `/prod/web` → `/prod`; `/web` → `/`. */
export function parentGroup(id: string): string {
  const i = id.lastIndexOf('/');
  return i <= 0 ? '/' : id.slice(0, i);
}

export function normaliseProtocol(p: Json | undefined): string {
  if (typeof p !== 'string' || p === '') return 'tcp';
  const parts = new Set(p.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
  if (parts.has('udp') && parts.has('tcp')) return 'udp,tcp';
  if (parts.has('udp')) return 'udp';
  return 'tcp';
}

function num(v: Json | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function stringMap(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isJsonObject(v)) {
    for (const [k, val] of Object.entries(v)) out[k] = typeof val === 'string' ? val : JSON.stringify(val);
  }
  return out;
}

function portDefinition(v: Json, i: number): PortDefinition {
  if (typeof v === 'number') return { port: v, labels: {}, protocol: 'tcp' };
  if (!isJsonObject(v)) throw new ValidationError([{ path: `/portDefinitions(${i})`, errors: ['error.expected.jsobject'] }]);
  const pd: PortDefinition = { port: num(v['port'], 0), labels: stringMap(v['labels']), protocol: normaliseProtocol(v['protocol']) };
  const name = str(v['name']);
  if (name !== undefined) pd.name = name;
  return pd;
}

function portMapping(v: Json, mode: NetworkMode, i: number): PortMapping {
  if (!isJsonObject(v)) throw new ValidationError([{ path: `/container/portMappings(${i})`, errors: ['error.expected.jsobject'] }]);
  const pm: PortMapping = {
    containerPort: num(v['containerPort'], 0),
    labels: stringMap(v['labels']),
    protocol: normaliseProtocol(v['protocol']),
    servicePort: num(v['servicePort'], 0),
  };
  const hostPort = v['hostPort'];
  if (typeof hostPort === 'number') pm.hostPort = hostPort;
  else if (mode === 'container/bridge') pm.hostPort = 0;
  const name = str(v['name']);
  if (name !== undefined) pm.name = name;
  const nn = v['networkNames'];
  if (Array.isArray(nn) && nn.length > 0) pm.networkNames = nn.filter((x): x is string => typeof x === 'string');
  return pm;
}

function networks(input: JsonObject): Network[] {
  const nets = input['networks'];
  if (Array.isArray(nets) && nets.length > 0) {
    return nets.map((n, i) => {
      if (!isJsonObject(n)) throw new ValidationError([{ path: `/networks(${i})`, errors: ['error.expected.jsobject'] }]);
      const modeRaw = str(n['mode']) ?? 'container';
      if (modeRaw !== 'host' && modeRaw !== 'container' && modeRaw !== 'container/bridge') {
        throw new ValidationError([{ path: `/networks(${i})/mode`, errors: [`error.unknown.enum.literal`] }]);
      }
      const net: Network = { mode: modeRaw };
      const name = str(n['name']);
      if (name !== undefined && modeRaw === 'container') net.name = name;
      const labels = stringMap(n['labels']);
      if (Object.keys(labels).length > 0) net.labels = labels;
      return net;
    });
  }
  // Legacy (≤1.4) input.
  const container = input['container'];
  const docker = isJsonObject(container) ? container['docker'] : undefined;
  const legacyNet = isJsonObject(docker) ? str(docker['network']) : undefined;
  const ipAddress = input['ipAddress'];
  const ipNetName = isJsonObject(ipAddress) ? str(ipAddress['networkName']) : undefined;
  if (legacyNet === 'BRIDGE') return [{ mode: 'container/bridge' }];
  if (legacyNet === 'USER' || (legacyNet === undefined && isJsonObject(ipAddress))) {
    const net: Network = { mode: 'container' };
    if (ipNetName !== undefined) net.name = ipNetName;
    return [net];
  }
  return [{ mode: 'host' }];
}

function healthCheck(v: Json, i: number): HealthCheckSpec {
  if (!isJsonObject(v)) throw new ValidationError([{ path: `/healthChecks(${i})`, errors: ['error.expected.jsobject'] }]);
  const protocol = str(v['protocol']) ?? 'HTTP';
  const known = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'];
  if (!known.includes(protocol)) {
    throw new ValidationError([{ path: `/healthChecks(${i})/protocol`, errors: ['error.unknown.enum.literal'] }]);
  }
  const o: JsonObject = {};
  const command = v['command'];
  if (protocol === 'COMMAND' && isJsonObject(command)) o['command'] = { value: str(command['value']) ?? '' };
  o['gracePeriodSeconds'] = num(v['gracePeriodSeconds'], 300);
  if (protocol === 'HTTP' || protocol === 'HTTPS') o['ignoreHttp1xx'] = v['ignoreHttp1xx'] === true;
  o['intervalSeconds'] = num(v['intervalSeconds'], 60);
  o['maxConsecutiveFailures'] = num(v['maxConsecutiveFailures'], 3);
  if (protocol.endsWith('HTTP') || protocol.endsWith('HTTPS')) o['path'] = str(v['path']) ?? '/';
  if (protocol !== 'COMMAND') {
    if (typeof v['port'] === 'number') o['port'] = v['port'];
    else o['portIndex'] = num(v['portIndex'], 0);
  }
  o['protocol'] = protocol;
  if (protocol !== 'COMMAND') o['ipProtocol'] = str(v['ipProtocol']) ?? 'IPv4';
  o['timeoutSeconds'] = num(v['timeoutSeconds'], 20);
  o['delaySeconds'] = num(v['delaySeconds'], 15);
  return { protocol, json: o };
}

function containerSpec(input: JsonObject, mode: NetworkMode): ContainerSpec | undefined {
  const c = input['container'];
  const ipAddress = input['ipAddress'];
  if (!isJsonObject(c)) {
    // Legacy IP-per-task without a container: discovery ports become port mappings.
    if (mode === 'container' && isJsonObject(ipAddress)) {
      return { type: 'MESOS', volumes: [], portMappings: discoveryMappings(ipAddress) };
    }
    return undefined;
  }
  const dockerIn = c['docker'];
  let docker: JsonObject | undefined;
  let legacyMappings: Json | undefined;
  if (isJsonObject(dockerIn)) {
    docker = {
      forcePullImage: dockerIn['forcePullImage'] === true,
      image: str(dockerIn['image']) ?? '',
      parameters: Array.isArray(dockerIn['parameters']) ? dockerIn['parameters'] : [],
      privileged: dockerIn['privileged'] === true,
    };
    const pullConfig = dockerIn['pullConfig'];
    if (pullConfig !== undefined) docker['pullConfig'] = pullConfig;
    legacyMappings = dockerIn['portMappings'];
  }
  const type = str(c['type']) ?? 'DOCKER';
  const rawMappings = Array.isArray(c['portMappings']) ? c['portMappings']
    : Array.isArray(legacyMappings) ? legacyMappings : undefined;
  let portMappings: PortMapping[] = [];
  if (mode !== 'host') {
    if (rawMappings !== undefined) portMappings = rawMappings.map((m, i) => portMapping(m, mode, i));
    else if (isJsonObject(ipAddress)) portMappings = discoveryMappings(ipAddress);
  }
  const spec: ContainerSpec = { type, volumes: Array.isArray(c['volumes']) ? c['volumes'] : [], portMappings };
  if (docker !== undefined) spec.docker = docker;
  return spec;
}

function discoveryMappings(ipAddress: JsonObject): PortMapping[] {
  const discovery = ipAddress['discovery'];
  const ports = isJsonObject(discovery) ? discovery['ports'] : undefined;
  if (!Array.isArray(ports)) return [];
  return ports.filter(isJsonObject).map((p) => {
    const pm: PortMapping = { containerPort: num(p['number'], 0), labels: stringMap(p['labels']), protocol: normaliseProtocol(p['protocol']), servicePort: 0 };
    const name = str(p['name']);
    if (name !== undefined) pm.name = name;
    return pm;
  });
}

/** omitEmpty / Option pass-through fields, in the order Marathon writes them. */
export const EXTRA_FIELDS = [
  'acceptedResourceRoles', 'args', 'constraints', 'dependencies', 'env', 'fetch', 'readinessChecks', 'residency',
  'secrets', 'taskKillGracePeriodSeconds', 'user', 'tty',
] as const;

/**
 * Normalises an app definition. `previous` (for PUT) supplies nothing here: merge before calling.
 * Throws ValidationError for invalid input.
 */
export function normaliseApp(input: JsonObject): AppSpec {
  const rawId = str(input['id']);
  if (rawId === undefined || rawId === '') throw new ValidationError([{ path: '/id', errors: ['error.path.missing'] }]);
  const id = canonicalPath(rawId);
  const idError = validateAppId(id);
  if (idError !== undefined) throw new ValidationError([{ path: '/id', errors: [idError] }]);
  const nets = networks(input);
  const mode = nets[0]?.mode ?? 'host';
  if (nets.some((n) => n.mode !== mode) || (mode !== 'container' && nets.length > 1)) {
    throw new ValidationError([{ path: '/networks', errors: ['Networking modes cannot be mixed'] }]);
  }
  let portDefinitions: PortDefinition[] = [];
  if (mode === 'host') {
    const pds = input['portDefinitions'];
    const ports = input['ports'];
    if (Array.isArray(pds)) portDefinitions = pds.map((p, i) => portDefinition(p, i));
    else if (Array.isArray(ports)) portDefinitions = ports.map((p, i) => portDefinition(p, i));
    else portDefinitions = [{ port: 0, labels: {}, name: 'default', protocol: 'tcp' }];
  }
  const hcs = Array.isArray(input['healthChecks']) ? input['healthChecks'].map((h, i) => healthCheck(h, i)) : [];
  const instances = num(input['instances'], 1);
  if (!Number.isInteger(instances) || instances < 0) {
    throw new ValidationError([{ path: '/instances', errors: ['error.min'] }]);
  }
  const us = input['upgradeStrategy'];
  const spec: AppSpec = {
    id,
    instances,
    cpus: num(input['cpus'], 1),
    mem: num(input['mem'], 128),
    disk: num(input['disk'], 0),
    gpus: num(input['gpus'], 0),
    backoffFactor: num(input['backoffFactor'], 1.15),
    backoffSeconds: num(input['backoffSeconds'], 1),
    maxLaunchDelaySeconds: num(input['maxLaunchDelaySeconds'], 300),
    executor: str(input['executor']) ?? '',
    labels: stringMap(input['labels']),
    networks: nets,
    portDefinitions,
    healthChecks: hcs,
    requirePorts: mode === 'host' && input['requirePorts'] === true,
    upgradeStrategy: {
      maximumOverCapacity: isJsonObject(us) ? num(us['maximumOverCapacity'], 1) : 1,
      minimumHealthCapacity: isJsonObject(us) ? num(us['minimumHealthCapacity'], 1) : 1,
    },
    killSelection: str(input['killSelection']) ?? 'YOUNGEST_FIRST',
    unreachableStrategy: input['unreachableStrategy'] ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    role: str(input['role']) ?? '*',
    extra: {},
  };
  const cmd = str(input['cmd']);
  if (cmd !== undefined) spec.cmd = cmd;
  const container = containerSpec(input, mode);
  if (container !== undefined) spec.container = container;
  for (const f of EXTRA_FIELDS) {
    const v = input[f];
    if (v !== undefined && v !== null) spec.extra[f] = v;
  }
  const uris = input['uris'];
  if (spec.extra['fetch'] === undefined && Array.isArray(uris) && uris.length > 0) {
    spec.extra['fetch'] = uris.filter((u): u is string => typeof u === 'string').map((uri) => ({
      uri, extract: /\.(tgz|tar\.gz|tbz2|tar\.bz2|txz|tar\.xz|zip)$/.test(uri), executable: false, cache: false,
    }));
  }
  return spec;
}

export function networkMode(spec: AppSpec): NetworkMode {
  return spec.networks[0]?.mode ?? 'host';
}

/** The app's service-port slots, in order: portDefinitions (host) or portMappings (otherwise). */
export function servicePorts(spec: AppSpec): number[] {
  if (networkMode(spec) === 'host') return spec.portDefinitions.map((p) => p.port);
  return (spec.container?.portMappings ?? []).map((p) => p.servicePort);
}

/**
 * Replaces service ports of 0 by the lowest free port in [min, max], reusing ports the app held before first.
 * `taken` = service ports of every other app.
 */
export function assignServicePorts(spec: AppSpec, taken: ReadonlySet<number>, previous: readonly number[], min = 10000, max = 20000): void {
  const slots: Array<{ get(): number; set(p: number): void }> = networkMode(spec) === 'host'
    ? spec.portDefinitions.map((p) => ({ get: () => p.port, set: (v: number) => { p.port = v; } }))
    : (spec.container?.portMappings ?? []).map((p) => ({ get: () => p.servicePort, set: (v: number) => { p.servicePort = v; } }));
  const used = new Set<number>(taken);
  for (const s of slots) if (s.get() !== 0) used.add(s.get());
  const reusable = previous.filter((p) => p >= min && p <= max && !used.has(p));
  let next = min;
  for (const s of slots) {
    if (s.get() !== 0) continue;
    let port = reusable.shift();
    if (port === undefined) {
      while (next <= max && used.has(next)) next++;
      if (next > max) throw new ValidationError([{ path: '/portDefinitions', errors: ['no free service port left'] }]);
      port = next;
    }
    used.add(port);
    s.set(port);
  }
}
