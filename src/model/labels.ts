/**
 * marathon-lb's label vocabulary: an app's `HAPROXY_*` labels → one `ServiceSpec` per port index.
 *
 * What marathon-lb does, and pacer mirrors (mesosphere/marathon-lb, config.py `labels[]` + `set_*`,
 * marathon_lb.py `get_apps()`, `config()`, `has_group()`):
 * - Only the app's own `labels` are read (never port-definition labels). Keys are case-sensitive and
 *   the index is written as a plain number (`HAPROXY_0_VHOST`); marathon-lb builds each key with
 *   `'HAPROXY_{0}_VHOST'.format(i)`, so `HAPROXY_{0}_VHOST` (issue #434) or `HAPROXY_00_VHOST` never match.
 * - Booleans (`ENABLED`, `STICKY`, `REDIRECT_TO_HTTPS`, `USE_HSTS`): `string_to_bool`, true iff the
 *   lower-cased value is `true`, `t`, `yes` or `y`; anything else is false (so `1` and `on` are false:
 *   pacer keeps that and reports those values).
 * - `VHOST` is lower-cased and split on commas. `MODE` is lower-cased. `PATH` is a space-separated
 *   `path_beg` pattern list and raises a weight of 0 to 1 (`set_path`; `BACKEND_WEIGHT` sorts before
 *   `PATH` in the registry, so an explicit weight 0 becomes 1 too). `AUTH` is `realm:user:hash`
 *   (`v.split(':')` into exactly three). `BACKEND_NETWORK_ALLOWED_ACL` is split on whitespace.
 *   `PORT`, `BACKEND_WEIGHT`, `BACKEND_HEALTHCHECK_PORT_INDEX` are `int(v)`.
 * - `HAPROXY_GROUP` and `HAPROXY_{n}_GROUP` are comma lists; the port label, when present, replaces
 *   the app label for that port (see groups.ts for the matching rule).
 * - `HAPROXY_DEPLOYMENT_*` are app-wide; a leading `/` is added to the deployment group.
 * - 43 HAProxy templates can be overridden per port with `HAPROXY_{n}_<TEMPLATE>`.
 *
 * Where marathon-lb would write a broken HAProxy config (and drop the app, or crash the whole
 * regenerate on an `AUTH` without two colons), pacer reports a `LabelProblem` and ignores the label;
 * the app's other labels still apply. Access-restricting labels fail closed instead (see service-spec.ts).
 *
 * Hot path: called for every app on every table rebuild. One pass over the label keys, one
 * precompiled regex, a `switch` per label; objects are only allocated for ports that have labels.
 */
import type { BasicAuth, DeploymentSpec, GroupSource, LabelProblem, ServiceSpec } from './service-spec.ts';

export interface ParsedLabels {
  readonly specs: readonly ServiceSpec[];
  readonly problems: readonly LabelProblem[];
}

/** Per-port labels that carry a value pacer parses (`HAPROXY_{n}_<NAME>`). */
export const PORT_LABEL_NAMES: readonly string[] = [
  'GROUP',
  'ENABLED',
  'VHOST',
  'PATH',
  'MODE',
  'PORT',
  'BIND_ADDR',
  'BIND_OPTIONS',
  'BALANCE',
  'STICKY',
  'REDIRECT_TO_HTTPS',
  'USE_HSTS',
  'SSL_CERT',
  'AUTH',
  'BACKEND_WEIGHT',
  'BACKEND_HEALTHCHECK_PORT_INDEX',
  'BACKEND_NETWORK_ALLOWED_ACL',
  'HTTP_BACKEND_REDIR',
  'HTTP_BACKEND_PROXYPASS_PATH',
  'HTTP_BACKEND_REVPROXY_PATH',
];

/** App-wide labels (`HAPROXY_<NAME>`). */
export const APP_LABEL_NAMES: readonly string[] = [
  'GROUP',
  'DEPLOYMENT_GROUP',
  'DEPLOYMENT_ALT_PORT',
  'DEPLOYMENT_COLOUR',
  'DEPLOYMENT_STARTED_AT',
  'DEPLOYMENT_TARGET_INSTANCES',
  'DEPLOYMENT_NEW_INSTANCES',
];

/**
 * marathon-lb's templates that are overridable per port (config.py, `overridable=True`): 43 names.
 * `HTTP_BACKEND_REDIR` is one of them, but as a label it sets the redirect path (`set_redirpath`),
 * so it is parsed as a value label and is not in `TEMPLATE_LABEL_NAMES`.
 */
export const OVERRIDABLE_TEMPLATE_NAMES: readonly string[] = [
  'USERLIST_HEAD',
  'FRONTEND_HEAD',
  'BACKEND_HEAD',
  'BACKEND_REDIRECT_HTTP_TO_HTTPS',
  'BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH',
  'BACKEND_HSTS_OPTIONS',
  'HTTP_FRONTEND_ACL',
  'MAP_HTTP_FRONTEND_ACL',
  'HTTP_FRONTEND_ACL_WITH_AUTH',
  'HTTP_FRONTEND_ACL_ONLY',
  'MAP_HTTP_FRONTEND_ACL_ONLY',
  'HTTP_FRONTEND_ROUTING_ONLY',
  'HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH',
  'HTTP_FRONTEND_ACL_WITH_PATH',
  'HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH',
  'HTTP_FRONTEND_ACL_ONLY_WITH_PATH',
  'HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH',
  'HTTPS_FRONTEND_ACL_ONLY_WITH_PATH',
  'HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH',
  'HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH',
  'HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH',
  'HTTP_FRONTEND_APPID_ACL',
  'MAP_HTTP_FRONTEND_APPID_ACL',
  'HTTPS_FRONTEND_ACL',
  'MAP_HTTPS_FRONTEND_ACL',
  'HTTPS_FRONTEND_ACL_WITH_AUTH',
  'HTTPS_FRONTEND_AUTH_ACL_ONLY',
  'HTTPS_FRONTEND_AUTH_REQUEST_ONLY',
  'HTTPS_FRONTEND_ACL_WITH_PATH',
  'HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH',
  'BACKEND_HTTP_OPTIONS',
  'HTTP_BACKEND_PROXYPASS_GLUE',
  'HTTP_BACKEND_REVPROXY_GLUE',
  'HTTP_BACKEND_REDIR',
  'BACKEND_HTTP_HEALTHCHECK_OPTIONS',
  'BACKEND_TCP_HEALTHCHECK_OPTIONS',
  'BACKEND_STICKY_OPTIONS',
  'BACKEND_SERVER_OPTIONS',
  'BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS',
  'BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS',
  'FRONTEND_BACKEND_GLUE',
  'HTTP_BACKEND_NETWORK_ALLOWED_ACL',
  'TCP_BACKEND_NETWORK_ALLOWED_ACL',
];

/** Per-port template labels pacer accepts (kept verbatim in `ServiceSpec.templates`, not applied). */
export const TEMPLATE_LABEL_NAMES: readonly string[] = OVERRIDABLE_TEMPLATE_NAMES.filter((n) => n !== 'HTTP_BACKEND_REDIR');

const TEMPLATES: ReadonlySet<string> = new Set(TEMPLATE_LABEL_NAMES);
const PORT_LABELS: ReadonlySet<string> = new Set(PORT_LABEL_NAMES);
const APP_LABELS: ReadonlySet<string> = new Set(APP_LABEL_NAMES);

/** HAProxy `balance` algorithms (the keyword before any argument or parenthesis). */
const BALANCE_ALGORITHMS: ReadonlySet<string> = new Set([
  'roundrobin',
  'static-rr',
  'leastconn',
  'first',
  'source',
  'uri',
  'url_param',
  'hdr',
  'random',
  'rdp-cookie',
  'hash',
]);

const DEFAULT_BALANCE = 'roundrobin';

/** `HAPROXY_` + optional `<index>_` + an upper-case name. */
const LABEL_KEY = /^HAPROXY_(?:(\d+)_)?([A-Z][A-Z0-9_]*)$/;
/** marathon-lb #434: the `{0}`/`{n}` of the docs written literally. */
const LITERAL_PLACEHOLDER = /^HAPROXY_\{[^}]*\}_/;
const INTEGER = /^[+-]?\d{1,15}$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const VHOST = /^[a-z0-9_*](?:[a-z0-9_.*-]*[a-z0-9_])?$/;
const LIST_SEPARATOR = /[\s,]+/;
const WHITESPACE = /\s+/;
const HAS_WHITESPACE = /\s/;

const TRUE_VALUES: ReadonlySet<string> = new Set(['true', 't', 'yes', 'y']);
const FALSE_VALUES: ReadonlySet<string> = new Set(['false', 'f', 'no', 'n']);

const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_TEMPLATES: Readonly<Record<string, string>> = Object.freeze({});

/** Mutable per-port accumulator; created only for ports that have labels. */
interface PortDraft {
  groups: readonly string[] | undefined;
  enabled: boolean | undefined;
  failClosed: boolean;
  vhosts: readonly string[];
  paths: readonly string[];
  pathsIgnoreCase: boolean;
  mode: 'tcp' | 'http' | undefined;
  port: number | undefined;
  bindAddr: string | undefined;
  bindOptions: string | undefined;
  balance: string;
  sticky: boolean;
  redirectToHttps: boolean;
  useHsts: boolean;
  sslCerts: readonly string[];
  auth: BasicAuth | undefined;
  backendWeight: number | undefined;
  healthCheckPortIndex: number | undefined;
  networkAllowedAcl: readonly string[];
  httpBackendRedir: string | undefined;
  proxypassPath: string | undefined;
  revproxyPath: string | undefined;
  templates: Record<string, string> | undefined;
}

function newDraft(): PortDraft {
  return {
    groups: undefined,
    enabled: undefined,
    failClosed: false,
    vhosts: NO_STRINGS,
    paths: NO_STRINGS,
    pathsIgnoreCase: false,
    mode: undefined,
    port: undefined,
    bindAddr: undefined,
    bindOptions: undefined,
    balance: DEFAULT_BALANCE,
    sticky: false,
    redirectToHttps: false,
    useHsts: false,
    sslCerts: NO_STRINGS,
    auth: undefined,
    backendWeight: undefined,
    healthCheckPortIndex: undefined,
    networkAllowedAcl: NO_STRINGS,
    httpBackendRedir: undefined,
    proxypassPath: undefined,
    revproxyPath: undefined,
    templates: undefined,
  };
}

/** App-wide values gathered during the pass. */
interface AppDraft {
  groups: readonly string[] | undefined;
  depGroup: string | undefined;
  altPort: number | undefined;
  colour: string | undefined;
  startedAt: string | undefined;
  targetInstances: number | undefined;
  newInstances: number | undefined;
  /** Deployment labels seen (keys), to report them if `HAPROXY_DEPLOYMENT_GROUP` is missing. */
  depLabels: string[] | undefined;
}

/**
 * Parse an app's labels into one ServiceSpec per port index 0..portCount-1. Unknown HAPROXY_*
 * labels, malformed values, labels for a port index >= portCount and the literal `HAPROXY_{0}_…`
 * mistake are ignored and reported as problems naming the app, label, value and reason.
 * Non-HAPROXY labels are ignored silently (HABITAT_*, VIP_* etc belong to others).
 */
export function parseServiceSpecs(appId: string, labels: Readonly<Record<string, string>>, portCount: number): ParsedLabels {
  const problems: LabelProblem[] = [];
  const drafts: (PortDraft | undefined)[] = [];
  const app: AppDraft = {
    groups: undefined,
    depGroup: undefined,
    altPort: undefined,
    colour: undefined,
    startedAt: undefined,
    targetInstances: undefined,
    newInstances: undefined,
    depLabels: undefined,
  };

  for (const key in labels) {
    if (!Object.hasOwn(labels, key)) continue;
    const c = key.charCodeAt(0);
    if (c !== 72 /* H */ && c !== 104 /* h */) continue;
    if (!key.startsWith('HAPROXY_')) {
      if (key.length > 8 && key.slice(0, 8).toUpperCase() === 'HAPROXY_') {
        report(problems, appId, key, labels[key], 'label names are case-sensitive: marathon-lb only reads upper-case HAPROXY_* keys');
      }
      continue;
    }
    const raw = labels[key] ?? '';
    const m = LABEL_KEY.exec(key);
    if (m === null) {
      if (LITERAL_PLACEHOLDER.test(key)) {
        const fixed = key.replace(LITERAL_PLACEHOLDER, 'HAPROXY_0_');
        report(problems, appId, key, raw, `the port index must be a number, e.g. ${fixed}; "{0}"/"{n}" is documentation notation (marathon-lb #434)`);
      } else if (/[a-z]/.test(key)) {
        report(problems, appId, key, raw, 'label names are case-sensitive: write the name in upper case');
      } else {
        report(problems, appId, key, raw, 'unknown HAPROXY_* label');
      }
      continue;
    }
    const indexText = m[1];
    const name = m[2] ?? '';
    if (indexText === undefined) {
      if (APP_LABELS.has(name)) applyAppLabel(app, name, key, raw, problems, appId);
      else if (PORT_LABELS.has(name) || TEMPLATES.has(name) || name === 'HTTP_BACKEND_REDIR') {
        report(problems, appId, key, raw, `per-port label without a port index: write HAPROXY_0_${name} (or HAPROXY_<n>_${name})`);
      } else report(problems, appId, key, raw, 'unknown HAPROXY_* label');
      continue;
    }
    if (!PORT_LABELS.has(name) && !TEMPLATES.has(name)) {
      if (APP_LABELS.has(name) && name !== 'GROUP') {
        report(problems, appId, key, raw, `app-wide label: write HAPROXY_${name} without a port index`);
      } else report(problems, appId, key, raw, 'unknown HAPROXY_* label');
      continue;
    }
    if (indexText.length > 1 && indexText.charCodeAt(0) === 48 /* 0 */) {
      report(problems, appId, key, raw, `port index written with a leading zero: marathon-lb only reads HAPROXY_${Number(indexText)}_${name}`);
      continue;
    }
    const index = Number(indexText);
    if (index >= portCount) {
      report(problems, appId, key, raw, `port index ${index} out of range: the app has ${portCount} port${portCount === 1 ? '' : 's'}`);
      continue;
    }
    let draft = drafts[index];
    if (draft === undefined) {
      draft = newDraft();
      drafts[index] = draft;
    }
    if (TEMPLATES.has(name)) {
      if (draft.templates === undefined) draft.templates = {};
      draft.templates[name] = raw;
    } else applyPortLabel(draft, name, key, raw, portCount, problems, appId);
  }

  const deployment = buildDeployment(app, labels, problems, appId);
  const appGroups = app.groups ?? NO_STRINGS;
  const appSource: GroupSource = app.groups !== undefined && app.groups.length > 0 ? 'app' : 'none';
  const specs: ServiceSpec[] = new Array<ServiceSpec>(Math.max(0, portCount));
  let plain: ServiceSpec | undefined;
  for (let i = 0; i < portCount; i++) {
    const draft = drafts[i];
    if (draft === undefined) {
      plain ??= defaultSpec(appGroups, appSource, deployment);
      specs[i] = plain;
    } else specs[i] = buildSpec(draft, appGroups, appSource, deployment);
  }
  return { specs, problems };
}

/** The spec of a port without labels of its own: what an empty draft builds to. */
function defaultSpec(groups: readonly string[], groupSource: GroupSource, deployment: DeploymentSpec | undefined): ServiceSpec {
  return buildSpec(newDraft(), groups, groupSource, deployment);
}

function buildSpec(d: PortDraft, appGroups: readonly string[], appSource: GroupSource, deployment: DeploymentSpec | undefined): ServiceSpec {
  let weight = d.backendWeight ?? 0;
  // marathon-lb's set_path: "if x.backend_weight == 0: x.backend_weight = 1", run after BACKEND_WEIGHT.
  if (d.paths.length > 0 && weight === 0) weight = 1;
  return {
    groups: d.groups ?? appGroups,
    groupSource: d.groups !== undefined ? 'port' : appSource,
    enabled: d.failClosed ? false : d.enabled,
    vhosts: d.vhosts,
    paths: d.paths,
    pathsIgnoreCase: d.pathsIgnoreCase,
    mode: d.mode,
    port: d.port,
    bindAddr: d.bindAddr,
    bindOptions: d.bindOptions,
    balance: d.balance,
    sticky: d.sticky,
    redirectToHttps: d.redirectToHttps,
    useHsts: d.useHsts,
    sslCerts: d.sslCerts,
    auth: d.auth,
    backendWeight: weight,
    healthCheckPortIndex: d.healthCheckPortIndex,
    networkAllowedAcl: d.networkAllowedAcl,
    httpBackendRedir: d.httpBackendRedir,
    proxypassPath: d.proxypassPath,
    revproxyPath: d.revproxyPath,
    deployment,
    templates: d.templates ?? NO_TEMPLATES,
  };
}

function applyAppLabel(app: AppDraft, name: string, key: string, raw: string, problems: LabelProblem[], appId: string): void {
  const value = raw.trim();
  if (name === 'GROUP') {
    const groups = splitGroups(value);
    if (groups.length === 0) report(problems, appId, key, raw, "no group names: the app is exposed only on LBs started with --group '*'");
    app.groups = groups;
    return;
  }
  // HAPROXY_DEPLOYMENT_*
  if (name !== 'DEPLOYMENT_GROUP') (app.depLabels ??= []).push(key);
  switch (name) {
    case 'DEPLOYMENT_GROUP': {
      if (value === '') {
        report(problems, appId, key, raw, 'empty deployment group');
        return;
      }
      if (HAS_WHITESPACE.test(value)) {
        report(problems, appId, key, raw, 'deployment group must not contain whitespace');
        return;
      }
      app.depGroup = value.charCodeAt(0) === 47 /* / */ ? value : `/${value}`;
      return;
    }
    case 'DEPLOYMENT_ALT_PORT': {
      const port = parsePort(value);
      if (port === undefined) report(problems, appId, key, raw, 'not a port number (1-65535)');
      else app.altPort = port;
      return;
    }
    case 'DEPLOYMENT_COLOUR':
      if (value === '') report(problems, appId, key, raw, 'empty deployment colour');
      else app.colour = value;
      return;
    case 'DEPLOYMENT_STARTED_AT':
      if (value === '' || Number.isNaN(Date.parse(value))) report(problems, appId, key, raw, 'not a timestamp (ISO 8601 expected)');
      else app.startedAt = value;
      return;
    case 'DEPLOYMENT_TARGET_INSTANCES': {
      const n = parseCount(value);
      if (n === undefined) report(problems, appId, key, raw, 'not a non-negative integer');
      else app.targetInstances = n;
      return;
    }
    case 'DEPLOYMENT_NEW_INSTANCES': {
      const n = parseCount(value);
      if (n === undefined) report(problems, appId, key, raw, 'not a non-negative integer');
      else app.newInstances = n;
      return;
    }
  }
}

function buildDeployment(
  app: AppDraft,
  labels: Readonly<Record<string, string>>,
  problems: LabelProblem[],
  appId: string,
): DeploymentSpec | undefined {
  if (app.depGroup === undefined) {
    // Without a group the other deployment labels mean nothing to marathon-lb (get_apps() only
    // looks at them for apps in a deployment group). Report those not already reported as malformed.
    if (app.depLabels !== undefined) {
      for (const key of app.depLabels) {
        if (!problems.some((p) => p.label === key)) {
          report(problems, appId, key, labels[key], 'ignored: HAPROXY_DEPLOYMENT_GROUP is not set');
        }
      }
    }
    return undefined;
  }
  return {
    group: app.depGroup,
    altPort: app.altPort,
    colour: app.colour,
    startedAt: app.startedAt,
    targetInstances: app.targetInstances,
    newInstances: app.newInstances,
  };
}

function applyPortLabel(
  d: PortDraft,
  name: string,
  key: string,
  raw: string,
  portCount: number,
  problems: LabelProblem[],
  appId: string,
): void {
  const value = raw.trim();
  switch (name) {
    case 'GROUP': {
      const groups = splitGroups(value);
      if (groups.length === 0) {
        report(problems, appId, key, raw, "no group names: it still replaces HAPROXY_GROUP, so this port is exposed only on LBs started with --group '*'");
      }
      d.groups = groups;
      return;
    }
    case 'ENABLED':
      d.enabled = parseBool(value, key, raw, problems, appId);
      return;
    case 'STICKY':
      d.sticky = parseBool(value, key, raw, problems, appId);
      return;
    case 'REDIRECT_TO_HTTPS':
      d.redirectToHttps = parseBool(value, key, raw, problems, appId);
      return;
    case 'USE_HSTS':
      d.useHsts = parseBool(value, key, raw, problems, appId);
      return;
    case 'VHOST': {
      const vhosts = new Set<string>();
      let bad: string[] | undefined;
      for (const part of value.toLowerCase().split(',')) {
        const host = part.trim();
        if (host === '') continue;
        if (host.length <= 253 && VHOST.test(host)) {
          vhosts.add(host);
        } else (bad ??= []).push(host);
      }
      if (bad !== undefined) report(problems, appId, key, raw, `not a host name, ignored: ${bad.join(', ')}`);
      else if (vhosts.size === 0) report(problems, appId, key, raw, 'no host names');
      d.vhosts = [...vhosts];
      return;
    }
    case 'PATH': {
      const paths = new Set<string>();
      let ignoreCase = false;
      let bad: string[] | undefined;
      for (const token of value.split(WHITESPACE)) {
        if (token === '') continue;
        if (token === '-i') ignoreCase = true;
        else if (token.charCodeAt(0) === 47 /* / */) {
          paths.add(token);
        } else (bad ??= []).push(token);
      }
      if (bad !== undefined) {
        report(problems, appId, key, raw, `only path prefixes starting with "/" and the -i flag are supported; ignored: ${bad.join(' ')}`);
      } else if (paths.size === 0) report(problems, appId, key, raw, 'no path prefixes');
      d.paths = [...paths];
      d.pathsIgnoreCase = paths.size > 0 && ignoreCase;
      return;
    }
    case 'MODE': {
      const mode = value.toLowerCase();
      if (mode === 'tcp' || mode === 'http') d.mode = mode;
      else if (mode === 'udp') report(problems, appId, key, raw, 'mode must be tcp or http; udp comes from the port protocol (udp or udp,tcp)');
      else report(problems, appId, key, raw, 'mode must be tcp or http');
      return;
    }
    case 'PORT': {
      const port = parsePort(value);
      if (port === undefined) report(problems, appId, key, raw, 'not a port number (1-65535)');
      else d.port = port;
      return;
    }
    case 'BIND_ADDR': {
      if (value === '*') d.bindAddr = '0.0.0.0';
      else if (IPV4.test(value) || isIPv6(value)) d.bindAddr = value;
      else {
        d.failClosed = true;
        report(problems, appId, key, raw, 'not an IP address or "*": the port is not exposed rather than bound on every interface');
      }
      return;
    }
    case 'BIND_OPTIONS':
      if (value === '') report(problems, appId, key, raw, 'empty value');
      else d.bindOptions = value;
      return;
    case 'BALANCE': {
      const paren = value.indexOf('(');
      const space = value.search(WHITESPACE);
      let end = value.length;
      if (paren >= 0) end = paren;
      if (space >= 0 && space < end) end = space;
      if (BALANCE_ALGORITHMS.has(value.slice(0, end))) d.balance = value;
      else report(problems, appId, key, raw, `unknown balance algorithm; using ${DEFAULT_BALANCE}`);
      return;
    }
    case 'SSL_CERT': {
      const certs = new Set<string>();
      for (const part of value.split(',')) {
        const path = part.trim();
        if (path !== '') certs.add(path);
      }
      if (certs.size === 0) report(problems, appId, key, raw, 'no certificate path');
      d.sslCerts = [...certs];
      return;
    }
    case 'AUTH': {
      const auth = parseAuth(value);
      if (auth === undefined) {
        d.failClosed = true;
        problems.push({
          appId,
          label: key,
          value: redactAuth(raw),
          reason: 'expected realm:user:hash (exactly two colons, no empty part): the port is not exposed rather than served without auth',
        });
      } else d.auth = auth;
      return;
    }
    case 'BACKEND_WEIGHT': {
      const weight = parseInteger(value);
      if (weight === undefined) report(problems, appId, key, raw, 'not an integer');
      else d.backendWeight = weight;
      return;
    }
    case 'BACKEND_HEALTHCHECK_PORT_INDEX': {
      const index = parseCount(value);
      if (index === undefined || index >= portCount) {
        report(problems, appId, key, raw, `not a port index of this app (0-${portCount - 1})`);
      } else d.healthCheckPortIndex = index;
      return;
    }
    case 'BACKEND_NETWORK_ALLOWED_ACL': {
      const allowed = new Set<string>();
      let bad: string[] | undefined;
      for (const entry of value.split(LIST_SEPARATOR)) {
        if (entry === '') continue;
        if (isCidr(entry)) {
          allowed.add(entry);
        } else (bad ??= []).push(entry);
      }
      if (allowed.size === 0) {
        d.failClosed = true;
        report(problems, appId, key, raw, 'no valid IP or CIDR: the port is not exposed rather than open to everyone');
      } else if (bad !== undefined) {
        report(problems, appId, key, raw, `not an IP or CIDR, ignored (access stays restricted to the valid entries): ${bad.join(' ')}`);
      }
      d.networkAllowedAcl = [...allowed];
      return;
    }
    case 'HTTP_BACKEND_REDIR':
      if (value === '' || HAS_WHITESPACE.test(value) || !(value.charCodeAt(0) === 47 || /^https?:\/\//i.test(value))) {
        report(problems, appId, key, raw, 'expected a path starting with "/" or an http(s) URL');
      } else d.httpBackendRedir = value;
      return;
    case 'HTTP_BACKEND_PROXYPASS_PATH':
      if (!isPathValue(value)) report(problems, appId, key, raw, 'expected a path starting with "/"');
      else d.proxypassPath = value;
      return;
    case 'HTTP_BACKEND_REVPROXY_PATH':
      if (!isPathValue(value)) report(problems, appId, key, raw, 'expected a path starting with "/"');
      else d.revproxyPath = value;
      return;
  }
}

/** Longest label value a problem repeats (a label may hold a megabyte; the problem is shown in /routes and logs). */
const MAX_PROBLEM_VALUE = 200;

function clipped(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function report(problems: LabelProblem[], appId: string, label: string, value: string | undefined, reason: string): void {
  problems.push({ appId, label: clipped(label, MAX_PROBLEM_VALUE), value: clipped(value ?? '', MAX_PROBLEM_VALUE), reason: clipped(reason, 2 * MAX_PROBLEM_VALUE) });
}

/** marathon-lb's `string_to_bool`; values outside its vocabulary are false, and reported. */
function parseBool(value: string, key: string, raw: string, problems: LabelProblem[], appId: string): boolean {
  const v = value.toLowerCase();
  if (TRUE_VALUES.has(v)) return true;
  if (!FALSE_VALUES.has(v)) {
    report(problems, appId, key, raw, 'not a boolean marathon-lb recognises (true/t/yes/y, false/f/no/n): treated as false, as marathon-lb does');
  }
  return false;
}

function splitGroups(value: string): string[] {
  const groups = new Set<string>();
  for (const part of value.split(',')) {
    const g = part.trim();
    if (g !== '') groups.add(g);
  }
  return [...groups];
}

function parseInteger(value: string): number | undefined {
  return INTEGER.test(value) ? Number(value) : undefined;
}

function parseCount(value: string): number | undefined {
  const n = parseInteger(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

function parsePort(value: string): number | undefined {
  const n = parseInteger(value);
  return n !== undefined && n >= 1 && n <= 65535 ? n : undefined;
}

function parseAuth(value: string): BasicAuth | undefined {
  const first = value.indexOf(':');
  if (first < 0) return undefined;
  const second = value.indexOf(':', first + 1);
  if (second < 0 || value.indexOf(':', second + 1) >= 0) return undefined;
  const realm = value.slice(0, first).trim();
  const user = value.slice(first + 1, second).trim();
  const passwordHash = value.slice(second + 1).trim();
  if (realm === '' || user === '' || passwordHash === '') return undefined;
  return { realm, user, passwordHash };
}

/** Keep the shape of a malformed AUTH value (how many colons) without its secret. */
function redactAuth(raw: string): string {
  let colons = 0;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === 58) colons++;
  return `<redacted: ${colons} colon${colons === 1 ? '' : 's'}>`;
}

function isPathValue(value: string): boolean {
  return value !== '' && value.charCodeAt(0) === 47 && !HAS_WHITESPACE.test(value);
}

function isCidr(entry: string): boolean {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const v4 = IPV4.test(addr);
  if (!v4 && !isIPv6(addr)) return false;
  if (slash < 0) return true;
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (v4 ? 32 : 128);
}

/** RFC 4291 text form: eight hex groups, one `::` at most, optional trailing dotted IPv4; no zone id. */
export function isIPv6(value: string): boolean {
  if (value.length < 2 || value.length > 45 || value.indexOf(':') < 0) return false;
  const halves = value.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h] ?? '';
    if (half === '') continue;
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      if (h === halves.length - 1 && i === parts.length - 1 && part.indexOf('.') >= 0) {
        if (!IPV4.test(part)) return false;
        groups += 2;
      } else if (HEX_GROUP.test(part)) groups++;
      else return false;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** IPv4 dotted quad. */
export function isIPv4(value: string): boolean {
  return IPV4.test(value);
}
