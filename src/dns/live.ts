/**
 * The zone kept up to date table by table, at the cost of what changed rather than of the cluster.
 *
 * - Each app's records are derived once per `AppEntry` (the TableBuilder hands out the same object
 *   for an app whose state did not change, so identity is the cache key), and within an app once
 *   per task: a changed app re-derives only the tasks whose inputs changed.
 * - The apps of two tables are compared by walking both lists (sorted by app id) side by side: an
 *   unchanged app costs one identity comparison.
 * - The records of the apps that changed are added to and taken from a LiveZone, which settles
 *   only the names whose values changed. Names shared by several apps (`slave.D`) are counted.
 * - Once in the zone, records are not kept: of each task, only what they were derived from (the
 *   task and its agent's IPs). The records of the tasks that go are derived again from that to be
 *   taken out, which gives exactly the records that were added.
 * - The cluster's records (Marathon, the Mesos leader, `ns1`) are redone only when the cluster info
 *   changes; a new framework name (`F`, in every name) rebuilds everything, into a new zone.
 * - Agent names resolved by the HostCache are tracked per user (app id, or the cluster): a host
 *   whose IPs change re-derives the apps on it; a host nobody uses any more is released.
 * - The Habitat rings' names (`*.habitat.D`) are a source of their own: the Habitat apps are kept
 *   by id, and when one of them is added, changed or removed (or an app becomes or stops being
 *   one), the ring records are derived again from those apps alone (rings are small) and only the
 *   difference is applied. Other apps' changes never touch them.
 * - A full build (the first table, a new framework name) can also be done in slices (`build`): the
 *   caller runs `step` with a deadline as often as it likes, yielding to the event loop in between,
 *   and serves the zone once `finish` has committed it. Nothing is served from the zone meanwhile.
 */
import { detectHabitat } from '../habitat/detect.ts';
import { sameClusterInfo } from '../model/cluster.ts';
import type { AppEntry, RoutingTable } from '../model/routing-table.ts';
import {
  appRecords,
  clusterRecords,
  enumerateTasks,
  frameworkLabel,
  NS_LABEL,
  recordId,
  ringRecords,
  type AppRecords,
  type ClusterRecords,
  type DeriveContext,
  type EnumTask,
  type HostLookup,
  type NamingOptions,
  type RecordSet,
  type TaskRecords,
  type ZoneRecord,
} from './names.ts';
import { LiveZone } from './zone.ts';

export interface LiveRecordsOptions extends NamingOptions {
  readonly ttl: number;
}

/** What one `apply` or `hostsChanged` did. */
export interface LiveUpdate {
  /** The zone was built anew (first table, or a new framework name): swap it in. */
  readonly rebuilt: boolean;
  /** Apps whose records were re-derived. */
  readonly apps: number;
  /** Names re-encoded. */
  readonly names: number;
}

/**
 * A full build done in slices (`LiveRecords.build`). Until `finish`, the instance's zone is
 * incomplete and must not be served, and `apply`/`hostsChanged` may not be called.
 */
export interface FullBuild {
  /**
   * Do some of the work, until `deadline` (a `performance.now()` time) has passed: true once every
   * record is in the zone and every name settled. Each unit of work between two checks of the
   * deadline is small: an app of at most TASK_CHUNK tasks, or SETTLE_CHUNK names.
   */
  step(deadline: number): boolean;
  /** Agent names that resolved to other IPs meanwhile: the apps already derived with them are derived again before the build is done. */
  hostsChanged(hosts: Iterable<string>): void;
  /** Once `step` returned true: commit with `serial`. The zone is then complete, and the instance takes tables again. */
  finish(serial: number): LiveUpdate;
}

/** Tasks of one app derived at once in a sliced build (a bigger app is derived and added in parts of this many). */
export const TASK_CHUNK = 128;
/** Names settled at once in a sliced build. */
export const SETTLE_CHUNK = 512;

/** The user of the cluster's hosts in the host-users map (app ids start with `/`). */
const CLUSTER = '';

/** An app added, removed or changed between two tables. */
type AppChange = readonly [before: AppEntry | undefined, after: AppEntry | undefined];

/**
 * The changes between two app lists sorted by app id, walking both side by side: an unchanged app
 * (the same object) costs one comparison. Undefined when `next` turns out not to be sorted.
 */
function diffSorted(prev: readonly AppEntry[], next: readonly AppEntry[]): AppChange[] | undefined {
  const changes: AppChange[] = [];
  let i = 0;
  let j = 0;
  // Identical runs keep their order from `prev` (sorted); every other position is checked against its neighbours.
  let checkNext = false;
  while (i < prev.length || j < next.length) {
    const p = prev[i];
    const n = next[j];
    if (p !== undefined && p === n) {
      if (checkNext && j > 0 && !(next[j - 1]!.appId < n.appId)) return undefined;
      checkNext = false;
      i++;
      j++;
      continue;
    }
    if (n !== undefined && j > 0 && !(next[j - 1]!.appId < n.appId)) return undefined;
    if (n === undefined || (p !== undefined && p.appId < n.appId)) {
      changes.push([p, undefined]);
      i++;
      continue;
    }
    checkNext = true;
    if (p !== undefined && p.appId === n.appId) {
      changes.push([p, n]);
      i++;
    } else changes.push([undefined, n]);
    j++;
  }
  return changes;
}

/** Sorted by app id, the last of duplicates kept (tables are sorted already: this is the fallback). */
function sortApps(apps: readonly AppEntry[]): AppEntry[] {
  const byId = new Map<string, AppEntry>();
  for (const a of apps) byId.set(a.appId, a);
  return [...byId.values()].sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0));
}

const NO_RECORDS: readonly ZoneRecord[] = Object.freeze([]);

/**
 * What is kept of an app's records once they are in the zone: each task's inputs and the agent
 * IPs it was derived with, without the records (at 10,000 apps × 10 tasks the records are 1.8
 * million objects, about 230 MB: they are derived again, for the few tasks concerned, when they
 * have to be taken out). A task kept from `old` keeps its skeleton, so that `appRecords` given
 * the skeleton as `previous` reuses it (and returns the skeleton itself when nothing changed).
 */
function skeleton(records: AppRecords, old: AppRecords | undefined): AppRecords {
  const kept = old ? new Set<TaskRecords>(old.tasks) : undefined;
  const tasks = records.tasks.map((t): TaskRecords =>
    kept?.has(t) || (t.records.length === 0 && t.agent.length === 0) ? t : { task: t.task, hostIps: t.hostIps, listed: t.listed, records: NO_RECORDS, agent: NO_RECORDS },
  );
  return { ...records, tasks };
}

/** Elements of `a` not in `b` (small lists compared directly). */
function missing(a: readonly string[], b: readonly string[]): string[] {
  if (a === b) return [];
  if (a.length * b.length <= 256) return a.filter((x) => !b.includes(x));
  const set = new Set(b);
  return a.filter((x) => !set.has(x));
}

export class LiveRecords {
  readonly #options: LiveRecordsOptions;
  readonly #lookup: HostLookup;
  readonly #release: (host: string) => void;
  #zone: LiveZone;
  #framework: string | undefined;
  #cluster: ClusterRecords | undefined;
  /** The apps being served, sorted by app id. */
  #apps: readonly AppEntry[] = [];
  /**
   * What each AppEntry's records were derived from (its tasks' inputs and agent IPs, no records:
   * see `skeleton`): the current apps', and any earlier ones still alive.
   */
  readonly #records = new WeakMap<AppEntry, AppRecords>();
  /** The current AppEntry of each app id (for host changes). */
  readonly #byId = new Map<string, AppEntry>();
  /** Host name → the app ids (or CLUSTER) whose records used its IPs. */
  readonly #hostUsers = new Map<string, Set<string>>();
  /** Hosts that lost their last user during this update (released at its end unless used again). */
  readonly #unused = new Set<string>();
  #enumerated: EnumTask[] | undefined;
  /** The Habitat apps being served, by app id (what the ring records are derived from). */
  readonly #habitat = new Map<string, AppEntry>();
  /** The ring-wide records in the zone. */
  #rings: readonly ZoneRecord[] = [];
  /** A sliced full build is under way (see `build`). */
  #building = false;

  /**
   * `lookup` gives a host's IPs from the cache (and starts resolving it); `release` is told about a
   * host none of the records use any more.
   */
  constructor(options: LiveRecordsOptions, lookup: HostLookup, release: (host: string) => void = () => {}) {
    this.#options = options;
    this.#lookup = lookup;
    this.#release = release;
    this.#zone = this.#newZone();
  }

  /** The zone (a new object after an update that `rebuilt`). */
  get zone(): LiveZone {
    return this.#zone;
  }

  /** Whether `apply(table)` would build everything anew: the first table, or a new framework name (`F` is in every name). */
  needsBuild(table: RoutingTable): boolean {
    return frameworkLabel(table.cluster?.frameworkName ?? 'marathon') !== this.#framework;
  }

  /** Take a new table: re-derive the apps that changed, and commit with `serial`. */
  apply(table: RoutingTable, serial: number): LiveUpdate {
    this.#notBuilding();
    if (this.needsBuild(table)) {
      // All at once: the same steps as a sliced build, without a deadline.
      const build = this.build(table);
      build.step(Number.POSITIVE_INFINITY);
      return build.finish(serial);
    }
    if (this.#cluster && this.#cluster.cluster !== table.cluster && !sameClusterInfo(this.#cluster.cluster, table.cluster)) {
      this.#setCluster(clusterRecords(table.cluster, this.#options, this.#lookup));
    }
    let next = table.apps;
    let changes = diffSorted(this.#apps, next);
    if (!changes) {
      next = sortApps(next);
      changes = diffSorted(this.#apps, next) ?? [];
    }
    const ctx = this.#context();
    let rings = false;
    for (const [before, after] of changes) {
      if (this.#habitatChanged(before, after)) rings = true;
      const old = before ? this.#records.get(before) : undefined;
      if (after) {
        // Only the served entry's skeleton may be reused: its tasks' records are in the zone.
        const records = appRecords(after, ctx, old);
        this.#records.set(after, this.#replace(before, old, records)!);
        this.#byId.set(after.appId, after);
      } else if (before && old) {
        this.#byId.delete(before.appId);
        this.#replace(before, old, undefined);
      }
    }
    this.#apps = next;
    if (rings) this.#setRings(table);
    return { rebuilt: false, apps: changes.length, names: this.#commit(serial) };
  }

  /** Hosts now resolve to other IPs: re-derive the records that used them, and commit with `serial`. */
  hostsChanged(hosts: Iterable<string>, serial: number): LiveUpdate {
    this.#notBuilding();
    const appIds = this.#hostUsersOf(hosts);
    for (const appId of appIds) this.#rederive(appId);
    return { rebuilt: false, apps: appIds.size, names: this.#commit(serial) };
  }

  /**
   * Start building everything for `table` into a new zone, in slices (see FullBuild): the first
   * table, or one with a new framework name. `apply` does the same at once. Until `finish`, the
   * zone (a new object) is incomplete: keep serving the previous one, if any.
   */
  build(table: RoutingTable): FullBuild {
    this.#notBuilding();
    this.#building = true;
    const framework = frameworkLabel(table.cluster?.frameworkName ?? 'marathon');
    const users = [...this.#hostUsers.keys()];
    this.#hostUsers.clear();
    this.#byId.clear();
    this.#habitat.clear();
    this.#rings = [];
    this.#zone = this.#newZone();
    this.#framework = framework;
    this.#cluster = undefined;
    this.#apps = [];
    this.#enumerated = undefined;
    const changedHosts = new Set<string>();
    const work = this.#fill(table, changedHosts);
    let done = false;
    return {
      step: (deadline) => {
        while (!done) {
          done = work.next().value === true;
          if (!done && performance.now() >= deadline) return false;
        }
        return true;
      },
      hostsChanged: (hosts) => {
        if (!this.#building) return;
        for (const host of hosts) changedHosts.add(host);
        done = false;
      },
      finish: (serial) => {
        if (!done || !this.#building) throw new Error('dns: finish before the build is done');
        this.#building = false;
        for (const host of users) if (!this.#hostUsers.has(host)) this.#unused.add(host);
        return { rebuilt: true, apps: this.#apps.length, names: this.#commit(serial) };
      },
    };
  }

  /** The agent (and leader) host names the served records use. */
  usesHost(host: string): boolean {
    return this.#hostUsers.has(host);
  }

  hostNames(): IterableIterator<string> {
    return this.#hostUsers.keys();
  }

  /** The records being served, for `/v1`: names read from the live zone, tasks enumerated when asked. */
  records(): RecordSet {
    const cluster = this.#cluster;
    const names = this.#zone.recordNames;
    const enumerate = () => (this.#enumerated ??= cluster ? enumerateTasks(cluster, this.#apps.map((a) => this.#derived(a, this.#records.get(a)!))) : []);
    return {
      domain: this.#options.domain,
      framework: cluster?.framework ?? 'marathon',
      frameworkName: cluster?.frameworkName ?? 'marathon',
      names,
      get tasks() {
        return enumerate();
      },
      nsName: `${NS_LABEL}.${this.#options.domain}`,
    };
  }

  #newZone(): LiveZone {
    return new LiveZone({ domain: this.#options.domain, nsName: `${NS_LABEL}.${this.#options.domain}`, ttl: this.#options.ttl });
  }

  #context(): DeriveContext {
    return { domain: this.#options.domain, framework: this.#framework ?? 'marathon', ipSources: this.#options.ipSources, lookup: this.#lookup };
  }

  #notBuilding(): void {
    if (this.#building) throw new Error('dns: a full build is under way');
  }

  /**
   * The work of a full build, in units small enough to check a deadline between them (see
   * FullBuild.step): the cluster's records, each app (a big one in parts of TASK_CHUNK tasks), the
   * rings, the apps that used agent names that resolved meanwhile, and the names settled
   * SETTLE_CHUNK at a time. Yields true when done; resumed (`changedHosts` filled after that), it
   * goes through the last two again.
   */
  *#fill(table: RoutingTable, changedHosts: Set<string>): Generator<boolean, never, undefined> {
    this.#setCluster(clusterRecords(table.cluster, this.#options, this.#lookup));
    const apps = diffSorted([], table.apps) ? table.apps : sortApps(table.apps);
    const ctx = this.#context();
    for (const app of apps) {
      if (app.tasks.length <= TASK_CHUNK) this.#records.set(app, this.#replace(app, undefined, appRecords(app, ctx))!);
      else {
        // A big app in parts: each part's records go into the zone as it is derived, and the
        // parts' skeletons are joined into the app's (its tasks in order, its hosts once each).
        const parts: AppRecords[] = [];
        for (let i = 0; i < app.tasks.length; i += TASK_CHUNK) {
          parts.push(this.#replace(app, undefined, appRecords({ ...app, tasks: app.tasks.slice(i, i + TASK_CHUNK) }, ctx))!);
          yield false;
        }
        const hosts = new Set<string>();
        for (const part of parts) for (const host of part.hosts) hosts.add(host);
        this.#records.set(app, { ...parts[0]!, tasks: parts.flatMap((part) => part.tasks), hosts: [...hosts] });
      }
      this.#byId.set(app.appId, app);
      this.#habitatChanged(undefined, app);
      yield false;
    }
    this.#apps = apps;
    this.#setRings(table);
    for (;;) {
      // Agent names that resolved while the build went on: re-derive the apps already derived with them.
      while (changedHosts.size > 0) {
        const appIds = this.#hostUsersOf(changedHosts);
        changedHosts.clear();
        for (const appId of appIds) {
          this.#rederive(appId);
          yield false;
        }
      }
      while (!this.#zone.settle(SETTLE_CHUNK)) yield false;
      if (changedHosts.size === 0) yield true;
    }
  }

  /** The app ids (the cluster's records included) whose records used any of `hosts`; the cluster's are redone here. */
  #hostUsersOf(hosts: Iterable<string>): Set<string> {
    const appIds = new Set<string>();
    for (const host of hosts) for (const user of this.#hostUsers.get(host) ?? []) appIds.add(user);
    if (appIds.delete(CLUSTER) && this.#cluster) this.#setCluster(clusterRecords(this.#cluster.cluster, this.#options, this.#lookup));
    return appIds;
  }

  /** Derive an app's records again (its agents' IPs changed): only the tasks concerned change. */
  #rederive(appId: string): void {
    const entry = this.#byId.get(appId);
    const old = entry ? this.#records.get(entry) : undefined;
    if (!entry || !old) return;
    this.#records.set(entry, this.#replace(entry, old, appRecords(entry, this.#context(), old))!);
  }

  /** Keep the Habitat apps up to date with one app's change; true when the rings may have changed. */
  #habitatChanged(before: AppEntry | undefined, after: AppEntry | undefined): boolean {
    const was = before !== undefined && this.#habitat.delete(before.appId);
    if (after && detectHabitat(after.app)) {
      this.#habitat.set(after.appId, after);
      return true;
    }
    return was;
  }

  /** Derive the ring records from the Habitat apps, and apply the difference to the zone. */
  #setRings(table: RoutingTable): void {
    const old = this.#rings;
    const next = this.#habitat.size === 0 ? [] : ringRecords({ ...table, apps: [...this.#habitat.values()] }, this.#options.domain);
    if (old.length === 0 && next.length === 0) return;
    const zone = this.#zone;
    const before = new Set(old.map(recordId));
    const after = new Set<string>();
    for (const r of next) {
      const id = recordId(r);
      after.add(id);
      if (!before.has(id)) zone.add(r);
    }
    for (const r of old) if (!after.has(recordId(r))) zone.remove(r);
    this.#rings = next;
  }

  #setCluster(next: ClusterRecords): void {
    const old = this.#cluster;
    for (const r of next.records) this.#zone.add(r);
    if (old) for (const r of old.records) this.#zone.remove(r);
    this.#users(CLUSTER, old?.hosts ?? [], next.hosts);
    this.#cluster = next;
    this.#enumerated = undefined;
  }

  /**
   * Swap an app's records: add those of its new tasks, then take those of its old ones (shared
   * values never drop to zero). `old` is a skeleton (what its records were derived from); the
   * records of its tasks that go are derived again from it to be taken out. Returns the skeleton
   * of `next` to keep.
   */
  #replace(before: AppEntry | undefined, old: AppRecords | undefined, next: AppRecords | undefined): AppRecords | undefined {
    if (old === next) return next;
    this.#enumerated = undefined;
    const zone = this.#zone;
    const kept = old && next ? new Set<TaskRecords>(old.tasks) : undefined;
    for (const t of next?.tasks ?? []) {
      if (kept?.has(t)) continue;
      for (const r of t.records) zone.add(r);
      for (const r of t.agent) zone.add(r);
    }
    if (old && before) {
      const reused = next ? new Set<TaskRecords>(next.tasks) : undefined;
      const gone = reused ? old.tasks.filter((t) => !reused.has(t)) : old.tasks;
      if (gone.length > 0) {
        for (const t of this.#derived(before, { ...old, tasks: gone }).tasks) {
          for (const r of t.records) zone.remove(r);
          for (const r of t.agent) zone.remove(r);
        }
      }
    }
    const appId = next?.appId ?? old?.appId ?? '';
    this.#users(appId, old?.hosts ?? [], next?.hosts ?? []);
    return next && skeleton(next, old);
  }

  /**
   * The records of `skeleton`'s tasks, derived again from `app` (the AppEntry they were derived
   * from) and the agent IPs they were derived with: exactly the records that were added for them.
   */
  #derived(app: AppEntry, skeleton: AppRecords): AppRecords {
    const ips = new Map<string, readonly string[] | undefined>();
    for (const t of skeleton.tasks) ips.set(t.task.host, t.hostIps);
    const ctx: DeriveContext = { ...this.#context(), framework: skeleton.framework, lookup: (host) => ips.get(host) };
    return appRecords({ ...app, tasks: skeleton.tasks.map((t) => t.task) }, ctx);
  }

  #users(user: string, before: readonly string[], after: readonly string[]): void {
    for (const host of missing(after, before)) {
      let users = this.#hostUsers.get(host);
      if (!users) this.#hostUsers.set(host, (users = new Set()));
      users.add(user);
    }
    for (const host of missing(before, after)) {
      const users = this.#hostUsers.get(host);
      if (!users) continue;
      users.delete(user);
      if (users.size > 0) continue;
      this.#hostUsers.delete(host);
      this.#unused.add(host);
    }
  }

  #commit(serial: number): number {
    const names = this.#zone.commit(serial);
    for (const host of this.#unused) if (!this.#hostUsers.has(host)) this.#release(host);
    this.#unused.clear();
    return names;
  }
}
