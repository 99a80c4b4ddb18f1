/**
 * What a configuration reload (SIGHUP) can apply to a running pacer, and what needs a restart.
 * Live: the log level and what only shapes the routing table (groups, strict mode, health checks)
 * or the sync's rhythm. Everything that owns a socket or a timeout already in use needs a restart.
 */
import { OPTIONS, type ConfigValues, type OptionName } from './options.ts';

const LIVE: ReadonlySet<OptionName> = new Set<OptionName>(['log-level', 'group', 'strict-mode', 'health-check', 'resync-interval']);

export interface ReloadPlan {
  /** Options whose value changed and that the running process applies now. */
  readonly live: readonly OptionName[];
  /** Options whose value changed but that take effect only after a restart. */
  readonly restart: readonly OptionName[];
}

export function planReload(current: ConfigValues, next: ConfigValues): ReloadPlan {
  const live: OptionName[] = [];
  const restart: OptionName[] = [];
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, { readonly field: keyof ConfigValues }][]) {
    if (name === 'config') continue;
    if (JSON.stringify(current[spec.field]) === JSON.stringify(next[spec.field])) continue;
    (LIVE.has(name) ? live : restart).push(name);
  }
  return { live, restart };
}

/** The running configuration after a reload: `current` with the live options taken from `next`. */
export function withLiveValues<C extends ConfigValues>(current: C, next: ConfigValues): C {
  const live: Partial<ConfigValues> = {};
  for (const name of LIVE) {
    const field = OPTIONS[name].field as keyof ConfigValues;
    Object.assign(live, { [field]: next[field] });
  }
  return { ...current, ...live };
}
