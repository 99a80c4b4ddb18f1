/**
 * `--workers N`: what the primary sends a proxy worker for each routing table, and the worker's
 * copy of that table. A worker gets the whole table once (when it starts, or when it lost track);
 * after that only what each table changed: the services added or changed, the keys of those
 * removed. The worker patches its copy and hands its proxy the table with a diff, so the proxy
 * reconciles only the listeners the changes claim, as it does in one process. (It used to get every
 * service of every table: at 10,000 apps × 10 tasks megabytes of IPC per event, and a whole-table
 * reconcile in every worker.)
 */
import { EMPTY_TABLE, compareServices, type RoutingTable, type Service, type ServiceChange, type TableDiff } from '../model/routing-table.ts';

export interface WholeTable {
  readonly type: 'pacer:table';
  readonly version: number;
  readonly services: readonly Service[];
}

export interface TableChanges {
  readonly type: 'pacer:changes';
  readonly version: number;
  /** The version these changes apply to. */
  readonly from: number;
  /** Services added or changed, whole. */
  readonly upsert: readonly Service[];
  /** Keys of the services removed. */
  readonly remove: readonly string[];
}

export function wholeTable(table: RoutingTable): WholeTable {
  return { type: 'pacer:table', version: table.version, services: table.services };
}

/** The changes from the table before (version `table.version - 1`) to `table`. */
export function tableChanges(table: RoutingTable, diff: TableDiff): TableChanges {
  return {
    type: 'pacer:changes',
    version: table.version,
    from: table.version - 1,
    upsert: [...diff.added, ...diff.changed.map((c) => c.after)],
    remove: diff.removed.map((s) => s.key),
  };
}

const NONE: readonly never[] = [];

/** A worker's copy of the primary's table. */
export class WorkerTable {
  #services = new Map<string, Service>();
  #table: RoutingTable = EMPTY_TABLE;

  get table(): RoutingTable {
    return this.#table;
  }

  /** Take a whole table: the proxy reconciles it whole (it is given no diff). */
  replace(message: WholeTable): RoutingTable {
    this.#services = new Map(message.services.map((s) => [s.key, s]));
    this.#table = { ...EMPTY_TABLE, version: message.version, services: message.services };
    return this.#table;
  }

  /**
   * Apply changes; undefined when they do not follow the version held (the worker needs the whole
   * table). The diff holds what the proxy reads of one (`Proxy.#apply`): the services added and
   * removed, and each changed service's `after`. A `ServiceChange`'s backend lists are left empty
   * and its `specChanged` set (not known: the spec came through IPC, a copy), since working them out
   * would cost a `diffService` per change for nothing; the diff's `apps` and `cluster` are left
   * empty too (the worker's table has neither).
   */
  patch(message: TableChanges): { readonly table: RoutingTable; readonly diff: TableDiff } | undefined {
    if (message.from !== this.#table.version || this.#table === EMPTY_TABLE) return undefined;
    const services = this.#services;
    const added: Service[] = [];
    const removed: Service[] = [];
    const changed: ServiceChange[] = [];
    let reorder = false;
    for (const key of message.remove) {
      const before = services.get(key);
      if (!before) continue;
      services.delete(key);
      removed.push(before);
      reorder = true;
    }
    const replaced = new Map<Service, Service>();
    for (const after of message.upsert) {
      const before = services.get(after.key);
      services.set(after.key, after);
      if (!before) {
        added.push(after);
        reorder = true;
        continue;
      }
      // The primary says it changed: the proxy takes the new object.
      changed.push({ before, after, backendsAdded: NONE, backendsRemoved: NONE, backendsChanged: NONE, specChanged: true });
      if (before.listenPort !== after.listenPort) reorder = true;
      else replaced.set(before, after);
    }
    let list: Service[];
    if (reorder) list = [...services.values()].sort(compareServices);
    else list = this.#table.services.map((s) => replaced.get(s) ?? s);
    this.#table = { ...EMPTY_TABLE, version: message.version, services: list };
    return { table: this.#table, diff: { added, removed, changed, apps: [], cluster: false } };
  }
}
