/**
 * What an app's `HAPROXY_*` labels say about one of its ports: the typed result of the marathon-lb
 * label vocabulary (shared/reference/marathon-lb.md §2). Produced by `labels.ts`, consumed by the
 * routing table and, through it, by the proxy.
 */

export interface BasicAuth {
  readonly realm: string;
  readonly user: string;
  /** Password hash as given in the label (`$6$…`/`$5$…` crypt, bcrypt `$2[aby]$…`). Never logged. */
  readonly passwordHash: string;
}

/** Blue/green (zdd) deployment labels, app-wide. */
export interface DeploymentSpec {
  readonly group: string;
  readonly altPort: number | undefined;
  readonly colour: string | undefined;
  readonly startedAt: string | undefined;
  readonly targetInstances: number | undefined;
  readonly newInstances: number | undefined;
}

export interface ServiceSpec {
  /** Effective LB groups for this port: `HAPROXY_{n}_GROUP` if set, else `HAPROXY_GROUP`, split on commas. */
  readonly groups: readonly string[];
  /** `HAPROXY_{n}_ENABLED` (undefined when absent). */
  readonly enabled: boolean | undefined;
  /** `HAPROXY_{n}_VHOST`, comma list, lower-cased, trimmed. */
  readonly vhosts: readonly string[];
  /** `HAPROXY_{n}_PATH`, space-separated path prefixes. */
  readonly paths: readonly string[];
  /** `HAPROXY_{n}_MODE` when given (`tcp` or `http`). */
  readonly mode: 'tcp' | 'http' | undefined;
  /** `HAPROXY_{n}_PORT`: the port to listen on instead of the service port. */
  readonly port: number | undefined;
  /** `HAPROXY_{n}_BIND_ADDR`. */
  readonly bindAddr: string | undefined;
  /** `HAPROXY_{n}_BIND_OPTIONS`, kept verbatim (reported, not interpreted). */
  readonly bindOptions: string | undefined;
  /** `HAPROXY_{n}_BALANCE` (default `roundrobin`). */
  readonly balance: string;
  /** `HAPROXY_{n}_STICKY`. */
  readonly sticky: boolean;
  /** `HAPROXY_{n}_REDIRECT_TO_HTTPS`. */
  readonly redirectToHttps: boolean;
  /** `HAPROXY_{n}_USE_HSTS`. */
  readonly useHsts: boolean;
  /** `HAPROXY_{n}_SSL_CERT`, comma list of PEM paths. */
  readonly sslCerts: readonly string[];
  /** `HAPROXY_{n}_AUTH` = `realm:user:hash`. */
  readonly auth: BasicAuth | undefined;
  /** `HAPROXY_{n}_BACKEND_WEIGHT` (default 0): higher sorts first among vhost/path rules. */
  readonly backendWeight: number;
  /** `HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX`. */
  readonly healthCheckPortIndex: number | undefined;
  /** `HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL`: allowed IPs/CIDRs (empty = all allowed). */
  readonly networkAllowedAcl: readonly string[];
  /** `HAPROXY_{n}_HTTP_BACKEND_REDIR`: 301 from `/` to this path. */
  readonly httpBackendRedir: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH`. */
  readonly proxypassPath: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH`. */
  readonly revproxyPath: string | undefined;
  /** `HAPROXY_DEPLOYMENT_*` (app-wide), when `HAPROXY_DEPLOYMENT_GROUP` is set. */
  readonly deployment: DeploymentSpec | undefined;
  /** Per-port HAProxy template overrides (`HAPROXY_{n}_FRONTEND_HEAD`, …): accepted and reported, not applied. */
  readonly templates: Readonly<Record<string, string>>;
}

/** A label pacer could not use: ignored, and reported (log + metric) naming the app. */
export interface LabelProblem {
  readonly appId: string;
  readonly label: string;
  readonly value: string;
  readonly reason: string;
}
