/**
 * What an app's `HAPROXY_*` labels say about one of its ports: the typed result of the marathon-lb
 * label vocabulary (shared/reference/marathon-lb.md §2). Produced by `labels.ts`, consumed by the
 * routing table and, through it, by the proxy. The full label table, with what pacer does with each
 * label, is in docs/labels.md.
 *
 * Parsing follows marathon-lb (config.py `labels[]` and its `set_*` functions, marathon_lb.py
 * `get_apps()`/`config()`), except that values are trimmed and malformed values are reported and
 * ignored instead of producing an HAProxy config that fails validation. Labels that *restrict*
 * access (`AUTH`, `BACKEND_NETWORK_ALLOWED_ACL`, `BIND_ADDR`) fail closed: when they are malformed
 * the port is not exposed at all (`enabled: false`), which is what marathon-lb ended up doing too
 * (its config cleanup dropped the app whose config did not validate).
 */

export interface BasicAuth {
  readonly realm: string;
  readonly user: string;
  /** Password hash as given in the label (`$6$…`/`$5$…` crypt, bcrypt `$2[aby]$…`). Never logged. */
  readonly passwordHash: string;
}

/**
 * Blue/green (zdd) deployment labels, app-wide. marathon-lb merges every app that carries the same
 * `HAPROXY_DEPLOYMENT_GROUP` into one backend named after the group; the older colour (by
 * `STARTED_AT`) gets `min(old tasks, healthy new tasks, new + old instances - TARGET_INSTANCES)`
 * of its tasks drained.
 */
export interface DeploymentSpec {
  /** `HAPROXY_DEPLOYMENT_GROUP`, with a leading `/` added when missing (marathon-lb uses it as the app id). */
  readonly group: string;
  /** `HAPROXY_DEPLOYMENT_ALT_PORT`: the other colour's service port. */
  readonly altPort: number | undefined;
  /** `HAPROXY_DEPLOYMENT_COLOUR` (zdd writes `blue` or `green`). */
  readonly colour: string | undefined;
  /** `HAPROXY_DEPLOYMENT_STARTED_AT`, verbatim (an ISO-8601 timestamp; only kept when it parses). */
  readonly startedAt: string | undefined;
  /** `HAPROXY_DEPLOYMENT_TARGET_INSTANCES`. */
  readonly targetInstances: number | undefined;
  /** `HAPROXY_DEPLOYMENT_NEW_INSTANCES` (hybrid traffic split; read by marathon-lb's code, not in its registry). */
  readonly newInstances: number | undefined;
}

/** Where `ServiceSpec.groups` came from. */
export type GroupSource = 'port' | 'app' | 'none';

export interface ServiceSpec {
  /**
   * Effective LB groups for this port, exactly as marathon-lb's `config()` picks them:
   * `HAPROXY_{n}_GROUP` when that label is present, else the app's `HAPROXY_GROUP`; comma lists,
   * names trimmed, empty names dropped. The port label *replaces* the app label, it does not add
   * to it. A present-but-empty `HAPROXY_{n}_GROUP` still replaces (marathon-lb's `''.split(',')`
   * is `['']`, truthy), so such a port is exposed only on `*` LBs. Empty when the app has no group
   * at all: exposed only on LBs started with `--group '*'`.
   */
  readonly groups: readonly string[];
  /** Which label `groups` came from (`none`: neither label). For `/routes` and problem reports. */
  readonly groupSource: GroupSource;
  /**
   * `HAPROXY_{n}_ENABLED` (undefined when absent). Without `--strict-mode` a port is exposed unless
   * this is false; with it, only when this is true. Also false when a restricting label (`AUTH`,
   * `BACKEND_NETWORK_ALLOWED_ACL`, `BIND_ADDR`) was malformed: such a port fails closed.
   */
  readonly enabled: boolean | undefined;
  /** `HAPROXY_{n}_VHOST`, comma list, lower-cased, trimmed. */
  readonly vhosts: readonly string[];
  /** `HAPROXY_{n}_PATH`, space-separated `path_beg` prefixes (each starts with `/`). Routing uses them with vhosts only. */
  readonly paths: readonly string[];
  /** `HAPROXY_{n}_PATH` carried HAProxy's `-i` flag: prefixes match case-insensitively. */
  readonly pathsIgnoreCase: boolean;
  /** `HAPROXY_{n}_MODE` when given (`tcp` or `http`, lower-cased as marathon-lb does). */
  readonly mode: 'tcp' | 'http' | undefined;
  /** `HAPROXY_{n}_PORT`: the port to listen on instead of the service port. */
  readonly port: number | undefined;
  /** `HAPROXY_{n}_BIND_ADDR`: an IPv4/IPv6 address; marathon-lb's `*` (all interfaces) becomes `0.0.0.0`. */
  readonly bindAddr: string | undefined;
  /** `HAPROXY_{n}_BIND_OPTIONS`, kept verbatim (reported, not interpreted). */
  readonly bindOptions: string | undefined;
  /** `HAPROXY_{n}_BALANCE` (default `roundrobin`), verbatim, e.g. `leastconn`, `source`, `hdr(host)`. */
  readonly balance: string;
  /** `HAPROXY_{n}_STICKY` (cookie `mesosphere_server_id`). */
  readonly sticky: boolean;
  /** `HAPROXY_{n}_REDIRECT_TO_HTTPS`: 301 from http to https for this port's vhosts (needs a vhost). */
  readonly redirectToHttps: boolean;
  /** `HAPROXY_{n}_USE_HSTS`. */
  readonly useHsts: boolean;
  /** `HAPROXY_{n}_SSL_CERT`: PEM path(s). marathon-lb takes one path; pacer also accepts a comma list. */
  readonly sslCerts: readonly string[];
  /** `HAPROXY_{n}_AUTH` = `realm:user:hash`. */
  readonly auth: BasicAuth | undefined;
  /**
   * `HAPROXY_{n}_BACKEND_WEIGHT` (default 0): higher sorts first among vhost/path rules. A port
   * with `PATH` and weight 0 (default or explicit) gets 1, as in marathon-lb.
   */
  readonly backendWeight: number;
  /** `HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX` (0 ≤ index < port count). */
  readonly healthCheckPortIndex: number | undefined;
  /**
   * `HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL`: allowed IPs/CIDRs, whitespace-separated as in
   * marathon-lb (pacer also accepts commas). Empty = all allowed (label absent). Invalid entries are
   * dropped (narrowing access); when none is valid the port is not exposed (`enabled: false`).
   */
  readonly networkAllowedAcl: readonly string[];
  /** `HAPROXY_{n}_HTTP_BACKEND_REDIR`: 301 from `/` to this path or URL. */
  readonly httpBackendRedir: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH`. */
  readonly proxypassPath: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH`. */
  readonly revproxyPath: string | undefined;
  /** `HAPROXY_DEPLOYMENT_*` (app-wide), when `HAPROXY_DEPLOYMENT_GROUP` is set. */
  readonly deployment: DeploymentSpec | undefined;
  /**
   * Per-port HAProxy template overrides, keyed by template name without the prefix
   * (`HAPROXY_0_FRONTEND_HEAD` → `FRONTEND_HEAD`), values verbatim: accepted and reported, not applied.
   */
  readonly templates: Readonly<Record<string, string>>;
}

/** A label pacer could not use: ignored, and reported (log + metric) naming the app. */
export interface LabelProblem {
  readonly appId: string;
  readonly label: string;
  /** The label's value (for `AUTH`, redacted: it carries a password hash). */
  readonly value: string;
  readonly reason: string;
}
