/**
 * Virtual-host routing of the shared HTTP/HTTPS listeners, pure: `Host` (or SNI) plus path →
 * service, in the order marathon-lb writes its ACLs into `marathon_http_in`/`marathon_https_in`:
 * services sorted by app id and service port, then by `HAPROXY_{n}_BACKEND_WEIGHT`, highest first
 * (a stable sort, so equal weights keep the app-id order). A rule with `HAPROXY_{n}_PATH` matches
 * when the request path begins with one of its prefixes (`path_beg`, `-i` for case-insensitive);
 * a rule without paths matches every path of its hosts. The first matching rule wins, exactly like
 * HAProxy's `use_backend` lines. Host names compare case-insensitively, without the port.
 *
 * Also marathon-lb's port 9091 rule: the `X-Marathon-App-Id` header names the app (case-insensitive).
 */

export interface RouteSource<T> {
  readonly target: T;
  readonly appId: string;
  readonly servicePort: number;
  readonly vhosts: readonly string[];
  readonly paths: readonly string[];
  readonly pathsIgnoreCase: boolean;
  readonly weight: number;
}

interface Rule<T> {
  readonly target: T;
  /** Lower-cased when the rule ignores case. */
  readonly paths: readonly string[];
  readonly ignoreCase: boolean;
}

export class VhostRouter<T> {
  readonly #byHost = new Map<string, Rule<T>[]>();
  readonly #byAppId = new Map<string, T>();

  constructor(sources: readonly RouteSource<T>[]) {
    const ordered = [...sources]
      .sort((a, b) => compare(a.appId, b.appId) || a.servicePort - b.servicePort)
      .sort((a, b) => b.weight - a.weight);
    for (const s of ordered) {
      const rule: Rule<T> = {
        target: s.target,
        paths: s.pathsIgnoreCase ? s.paths.map((p) => p.toLowerCase()) : s.paths,
        ignoreCase: s.pathsIgnoreCase,
      };
      for (const vhost of s.vhosts) {
        const host = vhost.toLowerCase();
        let rules = this.#byHost.get(host);
        if (!rules) this.#byHost.set(host, (rules = []));
        rules.push(rule);
      }
      const appKey = s.appId.toLowerCase();
      if (!this.#byAppId.has(appKey)) this.#byAppId.set(appKey, s.target);
    }
  }

  /** The target for a host name (lower case, no port) and request target (`/path?query`). */
  match(host: string, url: string): T | undefined {
    const rules = this.#byHost.get(host);
    if (!rules) return undefined;
    let lowerUrl: string | undefined;
    for (const rule of rules) {
      if (rule.paths.length === 0) return rule.target;
      const subject = rule.ignoreCase ? (lowerUrl ??= url.toLowerCase()) : url;
      for (const prefix of rule.paths) if (subject.startsWith(prefix)) return rule.target;
    }
    return undefined;
  }

  /** The target for an `X-Marathon-App-Id` header value (`/prod/web`, any case). */
  matchAppId(appId: string): T | undefined {
    return this.#byAppId.get(appId.toLowerCase());
  }

  /** Whether any rule names this host (for SNI certificate choice and diagnostics). */
  hasHost(host: string): boolean {
    return this.#byHost.has(host);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
