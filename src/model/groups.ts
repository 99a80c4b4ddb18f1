/**
 * Which ports this LB exposes: marathon-lb's `--group` / `--strict-mode` rule.
 *
 * marathon-lb (marathon_lb.py `config()` and `has_group()`), per service port:
 * 1. The port's groups are `HAPROXY_{n}_GROUP` when that label is present, else the app's
 *    `HAPROXY_GROUP`: the port label replaces the app label, the two are never merged (labels.ts
 *    computes this into `ServiceSpec.groups`).
 * 2. `has_group(lb_groups, port_groups)`: true if any `--group` is `*`; otherwise true if the two
 *    lists share a name (exact, case-sensitive). A `*` in an *app* label is just a name: it matches
 *    only an LB that was itself started with `--group '*'`. An app without any group label matches
 *    only `*` LBs ("Use '*' to match all groups, including those without a group specified").
 * 3. Then `if not app.enabled: continue`, where `enabled` starts as `not strict_mode` and
 *    `HAPROXY_{n}_ENABLED` overrides it. So without `--strict-mode` every port is exposed unless
 *    `HAPROXY_{n}_ENABLED` is false (any value other than true/t/yes/y counts as false); with it,
 *    only ports whose `ENABLED` is true.
 * marathon-lb refuses to start without `--group`; pacer's default is `external`. An empty group
 * list here matches nothing.
 */
import type { ServiceSpec } from './service-spec.ts';

export interface ExposureOptions {
  /** `--group` values (repeatable); `*` exposes every group, including apps with none. */
  readonly groups: readonly string[];
  /** `--strict-mode`: expose only ports with `HAPROXY_{n}_ENABLED=true`. */
  readonly strictMode: boolean;
}

/** marathon-lb's `has_group`: does an LB started with `lbGroups` serve a port in `portGroups`? */
export function hasGroup(lbGroups: readonly string[], portGroups: readonly string[]): boolean {
  for (const g of lbGroups) if (g === '*') return true;
  for (const g of portGroups) if (lbGroups.includes(g)) return true;
  return false;
}

/** marathon-lb's rule: is this port exposed on an LB started with these --group values (and --strict-mode)? */
export function isExposed(spec: ServiceSpec, options: ExposureOptions): boolean {
  if (!hasGroup(options.groups, spec.groups)) return false;
  return spec.enabled ?? !options.strictMode;
}
