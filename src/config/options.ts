/**
 * The one catalogue of pacer's options. Everything about an option is here and nowhere else:
 * command-line parsing, env var names, YAML keys, `--help`, the README table and the example
 * config file (a test checks the example against this catalogue).
 *
 * Names are kebab-case (`dns-port`). The same name is the flag (`--dns-port`), the YAML key
 * (`dns-port:`) and, upper-snake-cased with a prefix, the env var (`PACER_DNS_PORT`).
 */
import {
  type Parsed,
  type Resolver,
  fail,
  formatResolver,
  ok,
  parseAddress,
  parseBoolean,
  parseChoice,
  parseDomain,
  parseEach,
  parseHttpUrl,
  parseInteger,
  parseNonEmpty,
  parsePort,
  parseResolver,
  parseSeconds,
  parseSubnet,
  formatSubnet,
  splitList,
  type Subnet,
} from './values.ts';

export type { Resolver, Subnet } from './values.ts';

/** What kind of value an option takes (for documentation; parsing lives in `decode`). */
export type OptionKind =
  | 'url'
  | 'file'
  | 'string'
  | 'bool'
  | 'address'
  | 'port'
  | 'int'
  | 'seconds'
  | 'domain'
  | 'resolver'
  | 'subnet'
  | 'enum';

export interface OptionSpec<F extends string, T> {
  /** camelCase field of `Config` that holds the value. */
  readonly field: F;
  readonly kind: OptionKind;
  /** Comma-separated list (in every source); repeatable options accumulate across flags. */
  readonly list: boolean;
  /** The flag may be given more than once; otherwise giving it twice is an error. */
  readonly repeatable: boolean;
  /** Value placeholder in help (`N`, `ADDR`, …); empty for booleans, which take no value. */
  readonly placeholder: string;
  readonly help: string;
  readonly default: T;
  /** For enums (and lists of enum values): the accepted values. */
  readonly choices: readonly string[] | undefined;
  /** Whether the option can be set in the YAML file (`config` itself cannot). */
  readonly inFile: boolean;
  /** Parse the raw text of one source: one entry per occurrence (exactly one for scalars). */
  decode(occurrences: readonly string[]): Parsed<T>;
  /** The default as help and docs show it; '' when there is none. */
  readonly defaultText: string;
}

interface Base<F extends string> {
  readonly field: F;
  readonly help: string;
}

function scalar<F extends string, T>(
  kind: OptionKind,
  base: Base<F> & { readonly default: T; readonly placeholder: string; readonly choices?: readonly string[] },
  parse: (text: string) => Parsed<T>,
  show: (value: T) => string = String,
): OptionSpec<F, T> {
  return {
    field: base.field,
    kind,
    list: false,
    repeatable: false,
    placeholder: base.placeholder,
    help: base.help,
    default: base.default,
    choices: base.choices,
    inFile: true,
    decode(occurrences) {
      const last = occurrences.at(-1);
      return last === undefined ? fail('missing value') : parse(last);
    },
    defaultText: show(base.default),
  };
}

function port<F extends string>(base: Base<F> & { readonly default: number }): OptionSpec<F, number> {
  return scalar('port', { ...base, placeholder: 'N' }, parsePort);
}

function address<F extends string>(base: Base<F> & { readonly default: string }): OptionSpec<F, string> {
  return scalar('address', { ...base, placeholder: 'ADDR' }, parseAddress);
}

function seconds<F extends string>(
  base: Base<F> & { readonly default: number; readonly min: number; readonly max: number },
): OptionSpec<F, number> {
  return scalar('seconds', { ...base, placeholder: 'SECONDS' }, (t) => parseSeconds(t, base.min, base.max));
}

function bool<F extends string>(base: Base<F> & { readonly default: boolean }): OptionSpec<F, boolean> {
  return scalar('bool', { ...base, placeholder: '' }, parseBoolean, (v) => (v ? 'on' : 'off'));
}

function file<F extends string>(base: Base<F>): OptionSpec<F, string | undefined> {
  return scalar<F, string | undefined>('file', { ...base, default: undefined, placeholder: 'FILE' }, parseNonEmpty, (v) => v ?? '');
}

function list<F extends string, T>(
  kind: OptionKind,
  base: Base<F> & {
    readonly default: readonly T[];
    readonly placeholder: string;
    readonly repeatable: boolean;
    /** When set, an empty list is refused with `must name at least one <this>`. */
    readonly nonEmpty?: string;
    readonly unique?: boolean;
    readonly choices?: readonly string[];
  },
  parseItem: (text: string) => Parsed<T>,
  showItem: (item: T) => string = String,
): OptionSpec<F, readonly T[]> {
  return {
    field: base.field,
    kind,
    list: true,
    repeatable: base.repeatable,
    placeholder: base.placeholder,
    help: base.help,
    default: Object.freeze([...base.default]),
    choices: base.choices,
    inFile: true,
    decode(occurrences) {
      const parsed = parseEach(splitList(occurrences), parseItem);
      if (!parsed.ok) return parsed;
      const items = parsed.value;
      if (base.nonEmpty !== undefined && items.length === 0) return fail(`must name at least one ${base.nonEmpty}`);
      const shown = items.map(showItem);
      const dup = shown.find((s, i) => shown.indexOf(s) !== i);
      if (dup !== undefined) {
        if (base.unique === true) return fail(`lists ${JSON.stringify(dup)} more than once`);
        return ok(Object.freeze(items.filter((_, i) => shown.indexOf(shown[i] ?? '') === i)));
      }
      return ok(Object.freeze(items));
    },
    defaultText: base.default.map(showItem).join(','),
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where a task's IP for DNS records comes from (Mesos-DNS's `IPSources`), in order of preference. */
export const IP_SOURCES = ['netinfo', 'host', 'mesos', 'docker'] as const;
export type IpSource = (typeof IP_SOURCES)[number];

const DAY = 86_400;

const v4 = (network: string, prefix: number): Subnet => ({ network, prefix, family: 'ipv4' });
const v6 = (network: string, prefix: number): Subnet => ({ network, prefix, family: 'ipv6' });
/** Loopback, private (RFC 1918, ULA), shared (RFC 6598) and link-local: a cluster's own clients. */
export const LOCAL_NETWORKS: readonly Subnet[] = [
  v4('127.0.0.0', 8),
  v4('10.0.0.0', 8),
  v4('172.16.0.0', 12),
  v4('192.168.0.0', 16),
  v4('100.64.0.0', 10),
  v4('169.254.0.0', 16),
  v6('::1', 128),
  v6('fc00::', 7),
  v6('fe80::', 10),
];

/** The catalogue, in the order of `--help` and the docs. */
export const OPTIONS = {
  marathon: list(
    'url',
    {
      field: 'marathon',
      placeholder: 'URL[,URL…]',
      repeatable: true,
      nonEmpty: 'URL',
      default: ['http://marathon.mesos:8080'],
      help: 'Marathon instances, tried in turn; any may be a standby (pacer follows 302 to the leader)',
    },
    parseHttpUrl,
  ),
  'marathon-credentials-file': file({
    field: 'marathonCredentialsFile',
    help: 'file holding user:password for HTTP basic auth to Marathon (its contents are never logged)',
  }),
  group: list(
    'string',
    {
      field: 'groups',
      placeholder: 'NAME',
      repeatable: true,
      nonEmpty: 'group',
      default: ['external'],
      help: 'expose apps whose HAPROXY_GROUP matches; * exposes all',
    },
    parseNonEmpty,
  ),
  'strict-mode': bool({
    field: 'strictMode',
    default: false,
    help: 'expose only ports with HAPROXY_{n}_ENABLED=true',
  }),
  bind: address({
    field: 'bind',
    default: '0.0.0.0',
    help: 'address for the service-port, HTTP and HTTPS listeners',
  }),
  'http-port': port({
    field: 'httpPort',
    default: 80,
    help: 'HTTP virtual-host listener; 0 disables',
  }),
  'https-port': port({
    field: 'httpsPort',
    default: 443,
    help: 'HTTPS virtual-host listener; 0 disables',
  }),
  'tls-cert': list(
    'file',
    {
      field: 'tlsCerts',
      placeholder: 'FILE',
      repeatable: true,
      default: [],
      help: 'PEM file (certificate + key) for the HTTPS listener, chosen by SNI',
    },
    parseNonEmpty,
  ),
  'admin-bind': address({
    field: 'adminBind',
    default: '0.0.0.0',
    help: 'address of the admin HTTP server',
  }),
  'admin-port': port({
    field: 'adminPort',
    default: 9090,
    help: 'port of the admin HTTP server (/metrics, /health, /ready, /routes, /v1/…)',
  }),
  'dns-bind': address({
    field: 'dnsBind',
    default: '0.0.0.0',
    help: 'address of the DNS server',
  }),
  'dns-port': port({
    field: 'dnsPort',
    default: 53,
    help: 'DNS over UDP and TCP; 0 disables',
  }),
  'dns-domain': scalar(
    'domain',
    { field: 'dnsDomain', placeholder: 'DOMAIN', default: 'mesos', help: 'zone served' },
    parseDomain,
  ),
  'dns-ttl': scalar(
    'int',
    { field: 'dnsTtlSeconds', placeholder: 'SECONDS', default: 60, help: 'TTL of DNS answers' },
    (t) => parseInteger(t, 0, 2_147_483_647),
  ),
  'dns-resolvers': list<'dnsResolvers', Resolver>(
    'resolver',
    {
      field: 'dnsResolvers',
      placeholder: 'IP[:PORT][,…]',
      repeatable: true,
      default: [],
      help: 'forward names outside the zone to these resolvers (port 53 by default); none = REFUSED',
    },
    parseResolver,
    formatResolver,
  ),
  'dns-forward-allow': list<'dnsForwardAllow', Subnet>(
    'subnet',
    {
      field: 'dnsForwardAllow',
      placeholder: 'CIDR[,…]',
      repeatable: true,
      default: LOCAL_NETWORKS,
      help: 'clients that may use --dns-resolvers (others get REFUSED for names outside the zone); default loopback, private, shared and link-local ranges',
    },
    parseSubnet,
    formatSubnet,
  ),
  'health-check': bool({
    field: 'healthCheck',
    default: true,
    help: 'route only tasks that pass their Marathon health checks',
  }),
  config: {
    ...file({ field: 'configFile', help: 'YAML file with the same keys as these options (flags and env vars win)' }),
    inFile: false,
  },
  'log-level': scalar<'logLevel', LogLevel>(
    'enum',
    {
      field: 'logLevel',
      placeholder: 'LEVEL',
      default: 'info',
      choices: LOG_LEVELS,
      help: `pino level (${LOG_LEVELS.join(', ')}); logs are JSON lines on stdout`,
    },
    (t) => parseChoice(t, LOG_LEVELS),
  ),
  'resync-interval': seconds({
    field: 'resyncIntervalSeconds',
    default: 300,
    min: 1,
    max: DAY,
    help: 'periodic full resync with Marathon, a safety net behind the event stream',
  }),
  'marathon-timeout': seconds({
    field: 'marathonTimeoutSeconds',
    default: 5,
    min: 0.1,
    max: DAY,
    help: 'connect and read timeout of a Marathon request before the next URL is tried',
  }),
  'stream-idle-timeout': seconds({
    field: 'streamIdleTimeoutSeconds',
    default: 30,
    min: 1,
    max: DAY,
    help: 'an event stream without a byte for this long is dead and reconnected',
  }),
  'dns-ip-sources': list<'dnsIpSources', IpSource>(
    'enum',
    {
      field: 'dnsIpSources',
      placeholder: 'SOURCE[,…]',
      repeatable: true,
      nonEmpty: 'source',
      unique: true,
      choices: IP_SOURCES,
      default: ['netinfo', 'host'],
      help: `where a task's IP for DNS comes from, first match wins (${IP_SOURCES.join(', ')})`,
    },
    (t) => parseChoice(t, IP_SOURCES),
  ),
  'drain-timeout': seconds({
    field: 'drainTimeoutSeconds',
    default: 30,
    min: 0,
    max: DAY,
    help: 'how long connections and requests in flight to a backend or service that left may finish before they are cut',
  }),
  'proxy-connect-timeout': seconds({
    field: 'proxyConnectTimeoutSeconds',
    default: 5,
    min: 0.05,
    max: 3600,
    help: 'connect timeout to a backend; on timeout or refusal the next backend is tried',
  }),
  'proxy-idle-timeout': seconds({
    field: 'proxyIdleTimeoutSeconds',
    default: 50,
    min: 1,
    max: DAY,
    help: "a proxied connection (or an HTTP backend's answer) idle this long is closed (marathon-lb's timeout client/server)",
  }),
  'proxy-request-timeout': seconds({
    field: 'proxyRequestTimeoutSeconds',
    default: 60,
    min: 1,
    max: DAY,
    help: 'time a client has to send a whole HTTP request (headers within 20 s at most): slow clients are cut',
  }),
  'max-header-size': scalar(
    'int',
    { field: 'maxHeaderSize', placeholder: 'BYTES', default: 16_384, help: 'largest HTTP request head accepted from a client (431 beyond); a backend response head may take up to 64 KiB' },
    (t) => parseInteger(t, 1_024, 1_048_576),
  ),
  'max-connections': scalar(
    'int',
    { field: 'maxConnections', placeholder: 'N', default: 50_000, help: "client connections open at once on all proxy listeners of a process (marathon-lb's global maxconn); beyond it an HTTP client gets 503, a TCP one a close" },
    (t) => parseInteger(t, 1, 10_000_000),
  ),
  'max-connections-per-port': scalar(
    'int',
    { field: 'maxConnectionsPerPort', placeholder: 'N', default: 10_000, help: "client connections open at once on one service port or virtual-host listener (marathon-lb's maxconn in defaults)" },
    (t) => parseInteger(t, 1, 10_000_000),
  ),
  workers: scalar(
    'int',
    { field: 'workers', placeholder: 'N', default: 1, help: 'proxy worker processes (SO_REUSEPORT listeners; Marathon sync, DNS and admin stay in the main process); use one per core' },
    (t) => parseInteger(t, 1, 256),
  ),
  'dns-http-port': port({
    field: 'dnsHttpPort',
    default: 0,
    help: "separate listener for Mesos-DNS's HTTP API (/v1/…); 0 = off (the admin port serves it too)",
  }),
} as const;

export type Catalogue = typeof OPTIONS;
export type OptionName = keyof Catalogue;
/** The parsed type of an option's value. */
export type OptionValue<K extends OptionName> = Catalogue[K] extends OptionSpec<string, infer T> ? T : never;

/** Every option name, in catalogue order. */
export const OPTION_NAMES: readonly OptionName[] = Object.freeze(
  Object.keys(OPTIONS).filter((k): k is OptionName => Object.hasOwn(OPTIONS, k)),
);

/** `dns-port` → `PACER_DNS_PORT`. */
export function envName(name: string): string {
  return `PACER_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** The configuration values, one field per option (see `OPTIONS` for meaning and defaults). */
export interface ConfigValues {
  /** Marathon base URLs, without a trailing slash. */
  readonly marathon: readonly string[];
  readonly marathonCredentialsFile: string | undefined;
  readonly groups: readonly string[];
  readonly strictMode: boolean;
  readonly bind: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tlsCerts: readonly string[];
  readonly adminBind: string;
  readonly adminPort: number;
  readonly dnsBind: string;
  readonly dnsPort: number;
  /** Lower case, no trailing dot. */
  readonly dnsDomain: string;
  readonly dnsTtlSeconds: number;
  readonly dnsResolvers: readonly Resolver[];
  readonly dnsForwardAllow: readonly Subnet[];
  readonly healthCheck: boolean;
  readonly configFile: string | undefined;
  readonly logLevel: LogLevel;
  readonly resyncIntervalSeconds: number;
  readonly marathonTimeoutSeconds: number;
  readonly streamIdleTimeoutSeconds: number;
  readonly dnsIpSources: readonly IpSource[];
  readonly dnsHttpPort: number;
  readonly drainTimeoutSeconds: number;
  readonly proxyConnectTimeoutSeconds: number;
  readonly proxyIdleTimeoutSeconds: number;
  readonly proxyRequestTimeoutSeconds: number;
  readonly maxHeaderSize: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerPort: number;
  readonly workers: number;
}

// The catalogue and ConfigValues must describe the same fields with the same types.
type FromCatalogue = { readonly [K in OptionName as Catalogue[K]['field']]: OptionValue<K> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const catalogueMatchesConfig: Same<FromCatalogue, ConfigValues> = true;
void catalogueMatchesConfig;
