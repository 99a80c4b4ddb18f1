/**
 * `pacer habitat app-json ORIGIN/NAME[/VERSION]`: a Marathon app definition that runs a Habitat
 * package under its supervisor so that the supervisors form a ring, with pacer feeding their peer
 * list. This is what the old `hab pkg export mesos` left out (shared/reference/habitat.md §A5):
 * the gossip port, the package's ports, Marathon's environment, and uploading to Marathon.
 *
 * The definition (see docs/habitat.md for why):
 * - host networking, `requirePorts: true` and fixed ports: `hab-gossip` on 9638 (`udp,tcp`: SWIM and
 *   rumours share the number; never remapped, since supervisors advertise the port they bind),
 *   `hab-http` on 9631 (the HTTP gateway), then the package's exported ports (`--port
 *   NAME:NUMBER[:SERVICEPORT]`) on the port the package listens on. One supervisor per agent
 *   (`hostname UNIQUE`); the agents must offer these ports as resources.
 * - `HAPROXY_0_ENABLED=false`: pacer never relays the gossip port; `HAPROXY_{n}_PORT` when an
 *   exported port has a SERVICEPORT (host ports are the service ports under `requirePorts`).
 * - a `MESOS_HTTP` health check on the supervisor's `/services/<name>/default/health` (200 for
 *   ok/warning, 503 for critical), so only healthy members are listed as peers;
 * - labels `HABITAT_RING` (and `HABITAT_PERMANENT_PEER`), the `--label`s;
 * - `HAB_<NAME>` = the `--config-toml` file (the service's user config); the command runs in the
 *   task's own environment (no chroot), so Marathon's env reaches the supervisor and the service;
 * - a command that fetches the ring's peer list from pacer every 5 s into a file (written to a
 *   temporary file and moved into place only when it changed) and runs
 *   `hab sup run --peer-watch-file <file>`, which re-reads it when it changes.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { basicAuthHeader, readCredentialsFile } from '../marathon/client.ts';
import { DEFAULT_GOSSIP_PORT, DEFAULT_HTTP_PORT, GOSSIP_PORT_NAME, HTTP_PORT_NAME, PERMANENT_PEER_LABEL, RING_LABEL } from './detect.ts';

export class UsageError extends Error {}

export interface PackageIdent {
  readonly origin: string;
  readonly name: string;
  readonly version: string | undefined;
  readonly release: string | undefined;
}

export interface ExportedPort {
  readonly name: string;
  /** The port the package listens on (host networking: also the host port). */
  readonly number: number;
  /** Where pacer should listen for it (`HAPROXY_{n}_PORT`); the service port is `number` otherwise. */
  readonly servicePort: number | undefined;
}

export interface AppJsonOptions {
  readonly ident: PackageIdent;
  readonly id: string | undefined;
  readonly instances: number;
  readonly cpus: number;
  readonly mem: number;
  readonly ring: string;
  readonly permanentPeer: boolean;
  readonly ports: readonly ExportedPort[];
  readonly labels: Readonly<Record<string, string>>;
  /** Contents of `--config-toml` (the service's user config). */
  readonly configToml: string | undefined;
  /** pacer's admin URL, where the command fetches the peer list. */
  readonly pacer: string;
}

export const DEFAULT_PACER_URL = 'http://pacer.marathon.mesos:9090';
export const PEER_REFRESH_SECONDS = 5;

const IDENT_PART = /^[A-Za-z0-9_-]+$/;
const VERSION_PART = /^[A-Za-z0-9._+-]+$/;
const RELEASE_PART = /^\d{14}$/;
/** CONTRACT.md §5: one segment of a Marathon app id. */
export const ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
/** Marathon's port-name pattern (AppDefinition.json). */
const PORT_NAME = /^[a-z][a-z0-9-]*$/;

export function parseIdent(text: string): PackageIdent {
  const parts = text.split('/');
  const [origin, name, version, release] = parts;
  if (parts.length < 2 || parts.length > 4 || !origin || !name || !IDENT_PART.test(origin) || !IDENT_PART.test(name)) {
    throw new UsageError(`package: expected ORIGIN/NAME[/VERSION[/RELEASE]], got ${JSON.stringify(text)}`);
  }
  if (version !== undefined && !VERSION_PART.test(version)) throw new UsageError(`package: bad version ${JSON.stringify(version)}`);
  if (release !== undefined && !RELEASE_PART.test(release)) throw new UsageError(`package: bad release ${JSON.stringify(release)} (14 digits)`);
  return { origin, name, version, release };
}

export function identText(ident: PackageIdent): string {
  return [ident.origin, ident.name, ident.version, ident.release].filter((p) => p !== undefined).join('/');
}

/** Marathon app-id rules (CONTRACT.md §5): absolute, segments of lower-case letters, digits, `-` and `.`; not ending in restart/tasks/versions. */
export function checkAppId(id: string): string | undefined {
  if (!id.startsWith('/')) return `app id ${JSON.stringify(id)} must start with /`;
  const segments = id.slice(1).split('/');
  for (const s of segments) {
    if (!ID_SEGMENT.test(s)) return `app id ${JSON.stringify(id)}: segment ${JSON.stringify(s)} must be lower-case letters, digits, - and . (no _)`;
  }
  const last = segments.at(-1) ?? '';
  if (['restart', 'tasks', 'versions'].includes(last)) return `app id ${JSON.stringify(id)} may not end in ${last}`;
  return undefined;
}

function idSegment(s: string): string {
  return s
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `HAB_<NAME>`: the package name upper-cased, `-` → `_` (Habitat's service-config env var). */
export function serviceConfigEnv(name: string): string {
  return `HAB_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** Single-quote for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The start command: keep the peer-watch file fed from pacer, then run the supervisor. */
export function startCommand(options: Pick<AppJsonOptions, 'ident' | 'ring' | 'permanentPeer' | 'pacer'>): string {
  const url = `${options.pacer.replace(/\/+$/, '')}/v1/habitat/rings/${encodeURIComponent(options.ring)}/peers`;
  const sup = [
    'exec hab sup run',
    '--listen-gossip "0.0.0.0:$PORT0"',
    '--listen-http "0.0.0.0:$PORT1"',
    '--peer-watch-file "$PEERS"',
    ...(options.permanentPeer ? ['--permanent-peer'] : []),
    shellQuote(identText(options.ident)),
  ].join(' ');
  return [
    'PEERS="${MESOS_SANDBOX:-$PWD}/hab-peers"',
    ': > "$PEERS"',
    `(while true; do curl -fsS --max-time 5 -H 'Accept: text/plain' ${shellQuote(url)} -o "$PEERS.new" && { cmp -s "$PEERS.new" "$PEERS" || mv -f "$PEERS.new" "$PEERS"; }; sleep ${PEER_REFRESH_SECONDS}; done) &`,
    sup,
  ].join('; ').replace('&;', '&');
}

/** The Marathon app definition (1.5+ format, host networking). */
export function appJson(options: AppJsonOptions): Record<string, unknown> {
  const { ident } = options;
  const id = options.id ?? `/${idSegment(ident.origin)}/${idSegment(ident.name)}`;
  const idProblem = checkAppId(id);
  if (idProblem) throw new UsageError(`--id: ${idProblem}`);
  const names = new Set<string>([GOSSIP_PORT_NAME, HTTP_PORT_NAME]);
  const numbers = new Set<number>([DEFAULT_GOSSIP_PORT, DEFAULT_HTTP_PORT]);
  const labels: Record<string, string> = { [RING_LABEL]: options.ring };
  if (options.permanentPeer) labels[PERMANENT_PEER_LABEL] = 'true';
  // pacer must never relay gossip: peers record the address they see packets come from.
  labels['HAPROXY_0_ENABLED'] = 'false';
  const portDefinitions: Record<string, unknown>[] = [
    { port: DEFAULT_GOSSIP_PORT, protocol: 'udp,tcp', name: GOSSIP_PORT_NAME },
    { port: DEFAULT_HTTP_PORT, protocol: 'tcp', name: HTTP_PORT_NAME },
  ];
  options.ports.forEach((p, i) => {
    if (!PORT_NAME.test(p.name)) throw new UsageError(`--port: name ${JSON.stringify(p.name)} must match ${PORT_NAME.source}`);
    if (names.has(p.name)) throw new UsageError(`--port: name ${p.name} is used twice (${GOSSIP_PORT_NAME} and ${HTTP_PORT_NAME} are the supervisor's)`);
    if (numbers.has(p.number)) throw new UsageError(`--port: port ${p.number} is used twice (${DEFAULT_GOSSIP_PORT} and ${DEFAULT_HTTP_PORT} are the supervisor's)`);
    names.add(p.name);
    numbers.add(p.number);
    portDefinitions.push({ port: p.number, protocol: 'tcp', name: p.name });
    if (p.servicePort !== undefined) labels[`HAPROXY_${i + 2}_PORT`] = String(p.servicePort);
  });
  for (const [k, v] of Object.entries(options.labels)) {
    if (k === RING_LABEL || k === PERMANENT_PEER_LABEL) throw new UsageError(`--label: set ${k} with --ring / --permanent-peer`);
    if (k === 'HAPROXY_0_ENABLED' && v !== 'false') throw new UsageError('--label: the gossip port (index 0) must not be proxied');
    labels[k] = v;
  }
  const env: Record<string, string> = {};
  if (options.configToml !== undefined) env[serviceConfigEnv(ident.name)] = options.configToml;
  return {
    id,
    cmd: startCommand(options),
    instances: options.instances,
    cpus: options.cpus,
    mem: options.mem,
    disk: 0,
    networks: [{ mode: 'host' }],
    requirePorts: true,
    portDefinitions,
    constraints: [['hostname', 'UNIQUE']],
    env,
    labels,
    healthChecks: [
      {
        protocol: 'MESOS_HTTP',
        portIndex: 1,
        path: `/services/${ident.name}/default/health`,
        gracePeriodSeconds: 300,
        intervalSeconds: 10,
        timeoutSeconds: 5,
        maxConsecutiveFailures: 3,
        delaySeconds: 15,
      },
    ],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
  };
}

export interface AppJsonCommand {
  readonly options: AppJsonOptions;
  readonly deploy: { readonly marathon: readonly string[]; readonly credentialsFile: string | undefined } | undefined;
}

export const APP_JSON_USAGE = `Usage: pacer habitat app-json ORIGIN/NAME[/VERSION] [options]

Print a Marathon app definition that runs the Habitat package under its supervisor, with the
gossip port (9638, udp,tcp) and HTTP gateway (9631) declared and the peer list fed from pacer.

  --id ID                       Marathon app id (default /ORIGIN/NAME, lower-cased, _ → -)
  --instances N                 default 3
  --cpus N                      default 0.5
  --mem MB                      default 256
  --ring NAME                   HABITAT_RING label, the ring the supervisors join (default: default)
  --permanent-peer              run the supervisors as permanent peers (HABITAT_PERMANENT_PEER=true)
  --port NAME:NUMBER[:SERVICEPORT]
                                an exported port of the package (repeatable): the port it listens on,
                                and where pacer should serve it (HAPROXY_{n}_PORT)
  --label KEY=VALUE             an app label, e.g. HAPROXY_GROUP=external (repeatable)
  --config-toml FILE            the service's config (TOML), passed as HAB_<NAME>
  --pacer URL                   pacer's admin URL the tasks fetch the peer list from
                                (default ${DEFAULT_PACER_URL})
  --deploy                      PUT the app to Marathon (/v2/apps/{id}) instead of printing it
  --marathon URL[,URL…]         Marathon instances for --deploy (default http://marathon.mesos:8080)
  --marathon-credentials-file F user:password for Marathon's basic auth
`;

function numberArg(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  // Instances may be 0 (an app created suspended); resources must be positive.
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !integer) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: must be a ${integer ? 'non-negative integer' : 'positive number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function portNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a port (1-65535)`);
  return n;
}

/** Parse `app-json`'s arguments (after `habitat app-json`). */
export function parseAppJsonArgs(argv: readonly string[]): AppJsonCommand {
  let ident: PackageIdent | undefined;
  let id: string | undefined;
  let instances = 3;
  let cpus = 0.5;
  let mem = 256;
  let ring = 'default';
  let permanentPeer = false;
  const ports: ExportedPort[] = [];
  const labels: Record<string, string> = {};
  let configToml: string | undefined;
  let pacer = DEFAULT_PACER_URL;
  let deploy = false;
  let marathon: string[] = ['http://marathon.mesos:8080'];
  let credentialsFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      if (ident) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      ident = parseIdent(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag}: a value is needed`);
      return next;
    };
    switch (flag) {
      case '--id':
        id = value();
        break;
      case '--instances':
        instances = numberArg(flag, value(), true);
        break;
      case '--cpus':
        cpus = numberArg(flag, value(), false);
        break;
      case '--mem':
        mem = numberArg(flag, value(), false);
        break;
      case '--ring':
        ring = value();
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ring)) throw new UsageError(`--ring: ${JSON.stringify(ring)} must be letters, digits, _, . and -`);
        break;
      case '--permanent-peer':
        permanentPeer = true;
        break;
      case '--port': {
        const text = value();
        const [name, number, servicePort, extra] = text.split(':');
        if (!name || extra !== undefined) throw new UsageError(`--port: expected NAME:NUMBER[:SERVICEPORT], got ${JSON.stringify(text)}`);
        ports.push({ name, number: portNumber('--port', number), servicePort: servicePort === undefined ? undefined : portNumber('--port', servicePort) });
        break;
      }
      case '--label': {
        const text = value();
        const k = text.indexOf('=');
        if (k <= 0) throw new UsageError(`--label: expected KEY=VALUE, got ${JSON.stringify(text)}`);
        labels[text.slice(0, k)] = text.slice(k + 1);
        break;
      }
      case '--config-toml': {
        const file = value();
        try {
          configToml = readFileSync(file, 'utf8');
        } catch (error) {
          throw new UsageError(`--config-toml: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
        }
        break;
      }
      case '--pacer': {
        pacer = value();
        if (!/^https?:\/\/[^\s'"]+$/.test(pacer) || !URL.canParse(pacer)) throw new UsageError(`--pacer: ${JSON.stringify(pacer)} is not an http(s) URL`);
        break;
      }
      case '--deploy':
        deploy = true;
        break;
      case '--marathon':
        marathon = value()
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean);
        if (marathon.length === 0 || !marathon.every((u) => URL.canParse(u))) throw new UsageError('--marathon: expected URL[,URL…]');
        break;
      case '--marathon-credentials-file':
        credentialsFile = value();
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (!ident) throw new UsageError('the package (ORIGIN/NAME[/VERSION]) is missing');
  return {
    options: { ident, id, instances, cpus, mem, ring, permanentPeer, ports, labels, configToml, pacer },
    deploy: deploy ? { marathon, credentialsFile } : undefined,
  };
}

/**
 * `PUT /v2/apps/{id}` (create or update) on the first Marathon instance that answers, with the
 * sidecar's credentials file format. Resolves with Marathon's status and body.
 */
export async function deployApp(
  app: Record<string, unknown>,
  marathon: readonly string[],
  credentialsFile: string | undefined,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; url: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (credentialsFile) headers['authorization'] = basicAuthHeader(readCredentialsFile(credentialsFile));
  const path = `/v2/apps${String(app['id'])
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
  let lastError: Error | undefined;
  for (const base of marathon) {
    const url = `${base.replace(/\/+$/, '')}${path}`;
    try {
      const response = await request(url, { method: 'PUT', headers, body: JSON.stringify(app), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      return { status: response.statusCode, body: await response.body.text(), url: base };
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw new Error(`no Marathon instance answered: ${lastError?.message ?? 'unknown error'}`);
}

/** `pacer habitat …`; resolves with the exit code. */
export async function runHabitatCommand(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    out(APP_JSON_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'app-json') {
    err(`pacer habitat: unknown command ${JSON.stringify(sub)} (try: pacer habitat app-json --help)\n`);
    return 2;
  }
  let command: AppJsonCommand;
  let app: Record<string, unknown>;
  try {
    command = parseAppJsonArgs(rest);
    app = appJson(command.options);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`pacer habitat app-json: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (!command.deploy) {
    out(`${JSON.stringify(app, null, 2)}\n`);
    return 0;
  }
  try {
    const answer = await deployApp(app, command.deploy.marathon, command.deploy.credentialsFile);
    err(`PUT ${answer.url}/v2/apps${String(app['id'])}: HTTP ${answer.status}\n`);
    out(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
    return answer.status >= 200 && answer.status < 300 ? 0 : 1;
  } catch (error) {
    err(`pacer habitat app-json --deploy: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
