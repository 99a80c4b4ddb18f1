/**
 * The snapshot: every app and its live tasks, as pacer believes Marathon has them. Immutable;
 * each change makes a new snapshot that shares every untouched app with the old one, so that
 * consumers can compare apps by reference.
 *
 * Two sources feed it: full fetches (`/v2/apps?embed=apps.tasks`, or one app) and events. They
 * race, and Marathon does not order events, so two rules keep a dead task dead:
 * - tombstones: a task id that was seen terminal is never brought back by any source (Marathon
 *   relaunches under a new task id, so a dead id never legitimately runs again);
 * - killing is one-way: a task seen `TASK_KILLING` does not go back to `TASK_RUNNING`.
 * The sync engine adds the third: events that arrive while a fetch is in flight are applied again
 * on top of the fetched state.
 */
import { FINAL_STATES, TERMINAL_STATES, type App, type Task, type TaskHealth, type TaskState } from './app.ts';
import type { ClusterInfo } from './cluster.ts';
import type { DecodedApp } from './decode.ts';
import type { MarathonEvent } from './events.ts';
import { PersistentMap } from './persistent-map.ts';
import { sameItems } from './same.ts';

export interface AppState {
  readonly app: App;
  /** Live (non-terminal) tasks by task id. */
  readonly tasks: ReadonlyMap<string, Task>;
}

export interface Snapshot {
  readonly apps: ReadonlyMap<string, AppState>;
  /** What Marathon's /v2/info said last (undefined until it answered). */
  readonly info?: ClusterInfo | undefined;
}

export const EMPTY_SNAPSHOT: Snapshot = { apps: new PersistentMap() };

/** Task ids known to be dead. Bounded: the oldest ids are forgotten first. */
export class Tombstones {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity = 200_000) {
    this.#capacity = capacity;
  }

  has(taskId: string): boolean {
    return this.#ids.has(taskId);
  }

  add(taskId: string): void {
    if (this.#ids.has(taskId)) return;
    this.#ids.add(taskId);
    if (this.#ids.size > this.#capacity) {
      // Sets iterate in insertion order: the first id is the oldest.
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }

  get size(): number {
    return this.#ids.size;
  }
}

/** What applying events asks of the sync engine: apps whose full definition must be fetched again. */
export interface EventsApplied {
  readonly snapshot: Snapshot;
  readonly refetch: ReadonlySet<string>;
  /** Apps whose AppState differs from the input snapshot's (a hint for TableBuilder.build). */
  readonly changed: ReadonlySet<string>;
}

/** Marathon instance conditions (instance_changed_event) as task states; undefined = not a task state change. */
const CONDITION_STATES: Readonly<Record<string, TaskState>> = {
  Staging: 'TASK_STAGING',
  Starting: 'TASK_STARTING',
  Running: 'TASK_RUNNING',
  Killing: 'TASK_KILLING',
  Killed: 'TASK_KILLED',
  Finished: 'TASK_FINISHED',
  Failed: 'TASK_FAILED',
  Error: 'TASK_ERROR',
  Gone: 'TASK_GONE',
  Dropped: 'TASK_DROPPED',
  Unknown: 'TASK_UNKNOWN',
  Unreachable: 'TASK_UNREACHABLE',
  UnreachableInactive: 'TASK_UNREACHABLE',
};

/**
 * A copy-on-write editor over a snapshot: each app touched gets its task map copied once, however
 * many events touch it; untouched apps keep their identity, and the new snapshot's app map is a
 * new version of the old one (persistent-map.ts) that costs what changed, not what exists.
 */
class SnapshotEditor {
  readonly #base: Snapshot;
  readonly #tasks = new Map<string, Map<string, Task>>();
  readonly refetch = new Set<string>();
  readonly changed = new Set<string>();
  readonly #tombstones: Tombstones;

  constructor(base: Snapshot, tombstones: Tombstones) {
    this.#base = base;
    this.#tombstones = tombstones;
  }

  app(appId: string): AppState | undefined {
    return this.#base.apps.get(appId);
  }

  /** Mutable task map of an app (copied on first use). */
  tasksOf(appId: string): Map<string, Task> | undefined {
    let tasks = this.#tasks.get(appId);
    if (tasks) return tasks;
    const state = this.app(appId);
    if (!state) return undefined;
    tasks = new Map(state.tasks);
    this.#tasks.set(appId, tasks);
    return tasks;
  }

  /** Record a task id as dead for good. */
  bury(taskId: string): void {
    this.#tombstones.add(taskId);
  }

  isDead(taskId: string): boolean {
    return this.#tombstones.has(taskId);
  }

  finish(): Snapshot {
    const changes: [string, AppState][] = [];
    for (const [appId, tasks] of this.#tasks) {
      const state = this.#base.apps.get(appId);
      if (!state || sameTasks(state.tasks, tasks)) continue;
      changes.push([appId, { app: state.app, tasks }]);
      this.changed.add(appId);
    }
    if (changes.length === 0) return this.#base;
    return { apps: PersistentMap.of(this.#base.apps).with(changes), info: this.#base.info };
  }
}

function sameTasks(a: ReadonlyMap<string, Task>, b: ReadonlyMap<string, Task>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, task] of a) if (b.get(id) !== task) return false;
  return true;
}

/** Apply a batch of decoded events, in order. Pure apart from recording deaths in `tombstones`. */
export function applyEvents(snapshot: Snapshot, events: readonly MarathonEvent[], tombstones: Tombstones): EventsApplied {
  const editor = new SnapshotEditor(snapshot, tombstones);
  for (const event of events) applyEvent(editor, event);
  return { snapshot: editor.finish(), refetch: editor.refetch, changed: editor.changed };
}

function applyEvent(editor: SnapshotEditor, event: MarathonEvent): void {
  switch (event.kind) {
    case 'status': {
      if (editor.isDead(event.taskId)) return;
      const tasks = editor.tasksOf(event.appId);
      if (!tasks) {
        // An app we have not seen (created since the last fetch): fetch it, unless the task is already dead.
        if (FINAL_STATES.has(event.state)) editor.bury(event.taskId);
        else if (!TERMINAL_STATES.has(event.state)) editor.refetch.add(event.appId);
        return;
      }
      const current = tasks.get(event.taskId);
      if (TERMINAL_STATES.has(event.state)) {
        if (FINAL_STATES.has(event.state)) editor.bury(event.taskId);
        tasks.delete(event.taskId);
        return;
      }
      if (current) {
        let next = withState(current, event.state);
        if (next !== current && next.state === 'TASK_RUNNING' && next.startedAt === undefined) {
          next = { ...next, startedAt: event.timestamp };
        }
        const host = event.host && event.host !== 'unknown' ? event.host : current.host;
        const ports = event.ports.length > 0 ? event.ports : current.ports;
        const ips = event.ipAddresses.length > 0 ? event.ipAddresses : current.ipAddresses;
        if (next !== current || host !== current.host || !sameItems(ports, current.ports) || !sameItems(ips, current.ipAddresses)) {
          tasks.set(event.taskId, { ...next, host, ports, ipAddresses: ips });
        }
        return;
      }
      const appState = editor.app(event.appId);
      if (!appState) return;
      tasks.set(event.taskId, {
        id: event.taskId,
        instanceId: event.instanceId,
        appId: event.appId,
        host: event.host === 'unknown' ? '' : event.host,
        agentId: event.agentId,
        ipAddresses: event.ipAddresses,
        ports: event.ports,
        state: event.state,
        health: appState.app.healthChecks.length > 0 ? 'unknown' : 'none',
        version: event.version,
        stagedAt: event.timestamp,
        startedAt: event.state === 'TASK_RUNNING' ? event.timestamp : undefined,
      });
      return;
    }
    case 'instance': {
      const state = CONDITION_STATES[event.condition];
      if (!state) return; // Scheduled, Provisioned: no task yet
      const tasks = editor.tasksOf(event.appId);
      if (!tasks) {
        if (!TERMINAL_STATES.has(state)) editor.refetch.add(event.appId);
        return;
      }
      let found = false;
      for (const [taskId, task] of tasks) {
        // An instance keeps its id across incarnations (`._app.1`, `._app.2`, …): an event older
        // than the task it would touch is about an earlier incarnation.
        if (task.instanceId !== event.instanceId || olderThan(event.timestamp, task)) continue;
        found = true;
        // Never a tombstone here: the event names no task id, so only a task-level status buries one.
        if (TERMINAL_STATES.has(state)) tasks.delete(taskId);
        else {
          const next = withState(task, state);
          if (next !== task) tasks.set(taskId, next);
        }
      }
      // A running instance we know nothing about: its ports come only with a fetch.
      if (!found && state === 'TASK_RUNNING') editor.refetch.add(event.appId);
      return;
    }
    case 'check': {
      const appState = editor.app(event.appId);
      if (!appState) return;
      const checks = appState.app.healthChecks.length;
      // Several checks, one came alive: only the aggregate (instance_health_changed_event, or a fetch
      // for Marathon versions that do not send it) can say whether all of them are.
      if (event.alive && checks !== 1) {
        editor.refetch.add(event.appId);
        return;
      }
      setInstanceHealth(editor, event.appId, event.instanceId, event.alive ? 'healthy' : 'unhealthy', event.timestamp);
      return;
    }
    case 'instance-health': {
      const health: TaskHealth = event.healthy === null ? 'unknown' : event.healthy ? 'healthy' : 'unhealthy';
      setInstanceHealth(editor, event.appId, event.instanceId, health, event.timestamp);
      return;
    }
    case 'app':
      for (const appId of event.appIds) editor.refetch.add(appId);
      return;
    case 'ignored':
      return;
  }
}

/** Whether an event (by its timestamp) predates the task: then it was about an earlier incarnation. */
function olderThan(timestamp: string | undefined, task: Task): boolean {
  // Marathon timestamps are fixed-width UTC ISO strings: they compare as strings.
  return timestamp !== undefined && task.stagedAt !== undefined && timestamp < task.stagedAt;
}

function setInstanceHealth(editor: SnapshotEditor, appId: string, instanceId: string, health: TaskHealth, timestamp: string | undefined): void {
  const appState = editor.app(appId);
  if (!appState || appState.app.healthChecks.length === 0) return;
  const tasks = editor.tasksOf(appId);
  if (!tasks) return;
  let found = false;
  for (const [taskId, task] of tasks) {
    if (task.instanceId !== instanceId || olderThan(timestamp, task)) continue;
    found = true;
    // Failover policy, as for fetches: "unknown" does not take a healthy task out of the pool.
    if (health === 'unknown' && task.health === 'healthy') continue;
    if (task.health !== health) tasks.set(taskId, { ...task, health });
  }
  // Health of an instance not seen yet (events are not ordered): Mesos checks report it only once.
  if (!found) editor.refetch.add(appId);
}

/** A task moved to `state`, except that killing never goes back to running and nothing goes back to staging. */
function withState(task: Task, state: TaskState): Task {
  if (task.state === state) return task;
  if (task.state === 'TASK_KILLING' && state !== 'TASK_UNREACHABLE') return task;
  if ((state === 'TASK_STAGING' || state === 'TASK_STARTING') && task.state === 'TASK_RUNNING') return task;
  return { ...task, state };
}

/**
 * The state of one app as fetched, merged with what pacer already knew of it:
 * - terminal and tombstoned tasks are dropped (terminal ones are tombstoned);
 * - a task pacer saw killing stays killing;
 * - failover policy: a task that was healthy and whose results came back empty (Marathon-level
 *   check results live in the leader's memory and start empty after a failover) stays healthy.
 * Returns the previous AppState itself when nothing changed, so that consumers see no change.
 */
export function mergeFetchedApp(previous: AppState | undefined, fetched: DecodedApp, tombstones: Tombstones): AppState {
  const tasks = new Map<string, Task>();
  for (const task of fetched.tasks) {
    if (tombstones.has(task.id)) continue;
    if (TERMINAL_STATES.has(task.state)) {
      if (FINAL_STATES.has(task.state)) tombstones.add(task.id);
      continue;
    }
    const before = previous?.tasks.get(task.id);
    let merged = task;
    if (before) {
      if (before.state === 'TASK_KILLING' && task.state === 'TASK_RUNNING') merged = { ...merged, state: 'TASK_KILLING' };
      if (before.health === 'healthy' && task.health === 'unknown') merged = { ...merged, health: 'healthy' };
      if (sameTask(before, merged)) merged = before;
    }
    tasks.set(task.id, merged);
  }
  const app = previous && sameApp(previous.app, fetched.app) ? previous.app : fetched.app;
  if (previous && app === previous.app && sameTasks(previous.tasks, tasks)) return previous;
  return { app, tasks };
}

/** Replace the whole snapshot with a full fetch (apps missing from it are gone). */
export function mergeFullFetch(previous: Snapshot, fetched: readonly DecodedApp[], tombstones: Tombstones): Snapshot {
  const apps = new Map<string, AppState>();
  for (const decoded of fetched) {
    apps.set(decoded.app.id, mergeFetchedApp(previous.apps.get(decoded.app.id), decoded, tombstones));
  }
  return { apps: new PersistentMap(apps), info: previous.info };
}

/**
 * Put one fetched app into the snapshot, or remove it when `fetched` is undefined (Marathon
 * answered 404). A 404 buries no task: a proxy in front of Marathon can answer one by mistake, and
 * the next resync must be able to undo it.
 */
export function withFetchedApp(snapshot: Snapshot, appId: string, fetched: DecodedApp | undefined, tombstones: Tombstones): Snapshot {
  const previous = snapshot.apps.get(appId);
  if (!fetched) {
    if (!previous) return snapshot;
    return { apps: PersistentMap.of(snapshot.apps).with([[appId, undefined]]), info: snapshot.info };
  }
  const merged = mergeFetchedApp(previous, fetched, tombstones);
  if (merged === previous) return snapshot;
  return { apps: PersistentMap.of(snapshot.apps).with([[appId, merged]]), info: snapshot.info };
}

function sameTask(a: Task, b: Task): boolean {
  return (
    a.id === b.id &&
    a.state === b.state &&
    a.health === b.health &&
    a.host === b.host &&
    a.agentId === b.agentId &&
    a.version === b.version &&
    a.startedAt === b.startedAt &&
    a.stagedAt === b.stagedAt &&
    sameItems(a.ports, b.ports) &&
    sameItems(a.ipAddresses, b.ipAddresses)
  );
}

/** Structural equality of two app definitions (they are plain JSON-like data). */
function sameApp(a: App, b: App): boolean {
  return a.version === b.version && JSON.stringify(a) === JSON.stringify(b);
}

export function countTasks(snapshot: Snapshot): number {
  let n = 0;
  for (const state of snapshot.apps.values()) n += state.tasks.size;
  return n;
}
