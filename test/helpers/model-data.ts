/** Plain-data builders for model tests: apps and tasks shaped like CONTRACT.md's examples. */
import type { App, AppPort, HealthCheck, Task } from '../../src/model/app.ts';
import type { AppState, Snapshot } from '../../src/model/snapshot.ts';

export const VERSION = '2021-09-20T10:15:02.117Z';

export function port(index: number, servicePort: number, extra: Partial<AppPort> = {}): AppPort {
  return {
    index,
    servicePort,
    name: undefined,
    protocols: ['tcp'],
    containerPort: undefined,
    hasHostPort: true,
    labels: {},
    ...extra,
  };
}

export const HTTP_CHECK: HealthCheck = {
  protocol: 'HTTP',
  portIndex: 0,
  port: undefined,
  path: '/health',
  intervalSeconds: 60,
  timeoutSeconds: 20,
  maxConsecutiveFailures: 3,
};

export function app(id: string, extra: Partial<App> = {}): App {
  return {
    id,
    version: VERSION,
    labels: { HAPROXY_GROUP: 'external' },
    networkMode: 'host',
    ports: [port(0, 10001)],
    healthChecks: [],
    hasReadinessChecks: false,
    instances: 1,
    cmd: './serve',
    args: [],
    env: {},
    image: undefined,
    requirePorts: false,
    ...extra,
  };
}

export function task(appId: string, n: number, extra: Partial<Task> = {}): Task {
  const instanceId = `${appId.slice(1).replaceAll('/', '_')}.instance-0000000${n}-1f7a-11ec-9a4c-0242ac110002`;
  return {
    id: `${instanceId}._app.1`,
    instanceId,
    appId,
    host: `10.0.1.${n}`,
    agentId: '4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S2',
    ipAddresses: [`10.0.1.${n}`],
    ports: [31000 + n],
    state: 'TASK_RUNNING',
    health: 'none',
    version: VERSION,
    stagedAt: '2021-09-20T10:15:03.510Z',
    startedAt: '2021-09-20T10:15:09.440Z',
    ...extra,
  };
}

export function appState(a: App, tasks: readonly Task[]): AppState {
  return { app: a, tasks: new Map(tasks.map((t) => [t.id, t])) };
}

export function snapshotOf(...states: AppState[]): Snapshot {
  return { apps: new Map(states.map((s) => [s.app.id, s])) };
}

const CHANGE_KINDS = ['kill', 'start', 'unhealthy', 'healthy'] as const;

/**
 * Change one task of a random app in `apps` (in place; the app gets a new task map): change `i`
 * kills one, starts one (`newTask`), or turns one unhealthy or healthy, in turn. For the scale
 * scripts' one-task-change timings.
 */
export function changeOneTask(apps: Map<string, AppState>, ids: readonly string[], i: number, rnd: () => number, newTask: (appId: string) => Task): void {
  const id = ids[Math.floor(rnd() * ids.length)]!;
  const state = apps.get(id)!;
  const tasks = new Map(state.tasks);
  const kind = CHANGE_KINDS[i % CHANGE_KINDS.length]!;
  const victim = [...tasks.values()][Math.floor(rnd() * tasks.size)];
  if (kind === 'kill' && victim) tasks.delete(victim.id);
  else if (kind === 'start') {
    const t = newTask(id);
    tasks.set(t.id, t);
  } else if (victim) tasks.set(victim.id, { ...victim, health: kind === 'unhealthy' ? 'unhealthy' : 'healthy' });
  apps.set(id, { app: state.app, tasks });
}
