/**
 * The last routing changes, for the status page: a small ring buffer of what each new table version
 * changed (services added or removed, backends added, removed or changed state, the Marathon leader).
 * Pure: fed by `record(table, diff)` from the sync engine's `onTable`, or, when nobody feeds it, by
 * `observe(table)` with whatever table the status page sees (it diffs against the last one itself,
 * so changes between two looks are folded into one entry each).
 */
import { diffService, type Backend, type RoutingTable, type Service, type ServiceChange, type TableDiff } from '../model/routing-table.ts';
import { hostPort } from '../net/host-port.ts';

export type ChangeKind = 'service-added' | 'service-removed' | 'service-changed' | 'backend-added' | 'backend-removed' | 'backend-changed' | 'leader';

export interface RoutingChange {
  /** When the table with this change was seen (ms since the epoch). */
  readonly at: number;
  readonly version: number;
  readonly kind: ChangeKind;
  /** `<listen port>` of the service, 0 for cluster-wide changes. */
  readonly port: number;
  /** Marathon app id ('' for cluster-wide changes). */
  readonly app: string;
  /** One line for people, e.g. `127.0.0.1:31001 draining (task …)`. */
  readonly detail: string;
}

export const DEFAULT_CAPACITY = 100;

function backendState(b: Backend): string {
  if (b.draining) return 'draining';
  if (b.routable) return 'routable';
  if (b.state !== 'TASK_RUNNING') return b.state.replace(/^TASK_/, '').toLowerCase();
  return b.health === 'unhealthy' ? 'unhealthy' : `health ${b.health}`;
}

export class RoutingChanges {
  readonly #capacity: number;
  readonly #ring: RoutingChange[] = [];
  #next = 0;
  #lastVersion = -1;
  #lastTable: RoutingTable | undefined;

  constructor(capacity: number = DEFAULT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  /** Newest first. */
  list(): readonly RoutingChange[] {
    const n = this.#ring.length;
    const out: RoutingChange[] = [];
    for (let i = 1; i <= n; i++) out.push(this.#ring[(this.#next - i + n) % n]!);
    return out;
  }

  get size(): number {
    return this.#ring.length;
  }

  /** Take a table and the diff the sync engine computed for it. Versions seen before are ignored. */
  record(table: RoutingTable, diff: TableDiff, at: number = Date.now()): void {
    if (table.version <= this.#lastVersion) return;
    const first = this.#lastTable === undefined;
    this.#lastVersion = table.version;
    this.#lastTable = table;
    if (first && diff.added.length === table.services.length && diff.removed.length === 0 && diff.changed.length === 0) {
      // The first table ever: everything is "added"; say it once instead of once per service.
      if (table.services.length > 0) this.#push({ at, version: table.version, kind: 'service-added', port: 0, app: '', detail: `first table: ${table.services.length} services` });
      return;
    }
    const v = table.version;
    for (const s of diff.added) {
      this.#push({ at, version: v, kind: 'service-added', port: s.listenPort, app: s.appId, detail: `${s.mode} service added, ${s.backends.filter((b) => b.routable).length}/${s.backends.length} backends routable` });
    }
    for (const s of diff.removed) this.#push({ at, version: v, kind: 'service-removed', port: s.listenPort, app: s.appId, detail: `${s.mode} service removed` });
    for (const c of diff.changed) this.#recordChange(c, at, v);
    if (diff.cluster) {
      this.#push({ at, version: v, kind: 'leader', port: 0, app: '', detail: `Marathon leader is now ${table.cluster?.marathonLeader ?? 'unknown'}` });
    }
  }

  /** Take a table without a diff: diff it against the last table seen. */
  observe(table: RoutingTable, at: number = Date.now()): void {
    if (table.version <= this.#lastVersion) return;
    const before = this.#lastTable;
    if (!before) {
      this.#lastVersion = table.version;
      this.#lastTable = table;
      return;
    }
    this.record(table, diffTables(before, table), at);
  }

  #recordChange(c: ServiceChange, at: number, version: number): void {
    const s = c.after;
    const base = { at, version, port: s.listenPort, app: s.appId };
    if (c.specChanged) this.#push({ ...base, kind: 'service-changed', detail: `settings changed (mode ${s.mode}${s.spec.vhosts.length ? `, vhosts ${s.spec.vhosts.join(',')}` : ''})` });
    for (const b of c.backendsAdded) this.#push({ ...base, kind: 'backend-added', detail: `${hostPort(b.address, b.port)} added, ${backendState(b)} (task ${b.taskId})` });
    for (const b of c.backendsRemoved) this.#push({ ...base, kind: 'backend-removed', detail: `${hostPort(b.address, b.port)} removed (task ${b.taskId})` });
    for (const b of c.backendsChanged) this.#push({ ...base, kind: 'backend-changed', detail: `${hostPort(b.address, b.port)} now ${backendState(b)} (task ${b.taskId})` });
  }

  #push(change: RoutingChange): void {
    if (this.#ring.length < this.#capacity) this.#ring.push(change);
    else this.#ring[this.#next] = change;
    this.#next = (this.#next + 1) % this.#capacity;
  }
}

/** The services diff between two tables (what the table builder computes, for tables seen apart). */
export function diffTables(before: RoutingTable, after: RoutingTable): TableDiff {
  const old = new Map<string, Service>(before.services.map((s) => [s.key, s]));
  const added: Service[] = [];
  const changed: ServiceChange[] = [];
  for (const s of after.services) {
    const previous = old.get(s.key);
    old.delete(s.key);
    if (!previous) added.push(s);
    else {
      const change = diffService(previous, s);
      if (change) changed.push(change);
    }
  }
  return {
    added,
    removed: [...old.values()],
    changed,
    apps: [],
    cluster: before.cluster?.marathonLeader !== after.cluster?.marathonLeader,
  };
}
