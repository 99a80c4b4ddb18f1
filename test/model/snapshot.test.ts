import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/model/app.ts';
import type { DecodedApp } from '../../src/model/decode.ts';
import type { MarathonEvent, StatusUpdate } from '../../src/model/events.ts';
import { Tombstones, applyEvents, mergeFullFetch, withFetchedApp } from '../../src/model/snapshot.ts';
import { HTTP_CHECK, app, appState, snapshotOf, task } from '../helpers/model-data.ts';

function status(t: Task, state: StatusUpdate['state'], extra: Partial<StatusUpdate> = {}): StatusUpdate {
  return {
    kind: 'status',
    taskId: t.id,
    instanceId: t.instanceId,
    appId: t.appId,
    state,
    host: t.host,
    agentId: t.agentId,
    ipAddresses: t.ipAddresses,
    ports: t.ports,
    version: t.version,
    timestamp: '2021-09-20T10:16:00.000Z',
    ...extra,
  };
}

function decoded(a = app('/web'), tasks: readonly Task[] = []): DecodedApp {
  return { app: a, tasks, problems: [] };
}

const web = app('/web');
const t1 = task('/web', 1);
const t2 = task('/web', 2);

describe('applyEvents', () => {
  it('adds a task that starts running, with ports from the event', () => {
    const s0 = snapshotOf(appState(web, [t1]));
    const { snapshot } = applyEvents(s0, [status(t2, 'TASK_RUNNING')], new Tombstones());
    const added = snapshot.apps.get('/web')?.tasks.get(t2.id);
    expect(added).toMatchObject({ state: 'TASK_RUNNING', host: '10.0.1.2', ports: [31002], health: 'none' });
  });

  it('a new task of an app with health checks starts with unknown health', () => {
    const checked = app('/web', { healthChecks: [HTTP_CHECK] });
    const s0 = snapshotOf(appState(checked, []));
    const { snapshot } = applyEvents(s0, [status(t1, 'TASK_RUNNING')], new Tombstones());
    expect(snapshot.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('unknown');
  });

  it('removes terminal tasks and never brings them back (late RUNNING, stale fetch)', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(web, [t1, t2]));
    const killed = applyEvents(s0, [status(t1, 'TASK_KILLED')], tombstones).snapshot;
    expect(killed.apps.get('/web')?.tasks.has(t1.id)).toBe(false);
    // Events are not ordered: a RUNNING that arrives after the KILLED must not resurrect it.
    const late = applyEvents(killed, [status(t1, 'TASK_RUNNING')], tombstones).snapshot;
    expect(late.apps.get('/web')?.tasks.has(t1.id)).toBe(false);
    // A full fetch sent before the kill still lists the task as running.
    const fetched = mergeFullFetch(late, [decoded(web, [t1, t2])], tombstones);
    expect([...(fetched.apps.get('/web')?.tasks.keys() ?? [])]).toEqual([t2.id]);
  });

  it('killing is one-way: a late RUNNING does not put a killing task back into the pool', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(web, [t1]));
    const s1 = applyEvents(s0, [status(t1, 'TASK_KILLING')], tombstones).snapshot;
    const s2 = applyEvents(s1, [status(t1, 'TASK_RUNNING')], tombstones).snapshot;
    expect(s2.apps.get('/web')?.tasks.get(t1.id)?.state).toBe('TASK_KILLING');
    const s3 = mergeFullFetch(s2, [decoded(web, [t1])], tombstones);
    expect(s3.apps.get('/web')?.tasks.get(t1.id)?.state).toBe('TASK_KILLING');
  });

  it('maps instance conditions onto the instance tasks', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(web, [t1, t2]));
    const ev = (condition: string): MarathonEvent => ({ kind: 'instance', instanceId: t1.instanceId, appId: '/web', condition, version: undefined, timestamp: undefined });
    expect(applyEvents(s0, [ev('Killing')], tombstones).snapshot.apps.get('/web')?.tasks.get(t1.id)?.state).toBe('TASK_KILLING');
    expect(applyEvents(s0, [ev('Unreachable')], tombstones).snapshot.apps.get('/web')?.tasks.get(t1.id)?.state).toBe('TASK_UNREACHABLE');
    expect(applyEvents(s0, [ev('Scheduled')], tombstones).snapshot).toBe(s0);
    const gone = applyEvents(s0, [ev('Killed')], tombstones).snapshot;
    expect(gone.apps.get('/web')?.tasks.has(t1.id)).toBe(false);
    // An instance event names no task id: it never buries one (the next incarnation shares the instance id).
    expect(tombstones.has(t1.id)).toBe(false);
  });

  it('asks for a fetch when a running instance or a task of an unknown app shows up', () => {
    const s0 = snapshotOf(appState(web, []));
    const running: MarathonEvent = { kind: 'instance', instanceId: t1.instanceId, appId: '/web', condition: 'Running', version: undefined, timestamp: undefined };
    expect([...applyEvents(s0, [running], new Tombstones()).refetch]).toEqual(['/web']);
    const other = task('/other', 1);
    expect([...applyEvents(s0, [status(other, 'TASK_RUNNING')], new Tombstones()).refetch]).toEqual(['/other']);
  });

  it('applies health: a failing check makes the instance unhealthy, the aggregate decides', () => {
    const checked = app('/web', { healthChecks: [HTTP_CHECK] });
    const healthy = { ...t1, health: 'healthy' as const };
    const s0 = snapshotOf(appState(checked, [healthy, t2]));
    const tombstones = new Tombstones();
    const down = applyEvents(s0, [{ kind: 'check', appId: '/web', instanceId: t1.instanceId, alive: false, timestamp: undefined }], tombstones).snapshot;
    expect(down.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('unhealthy');
    const up = applyEvents(down, [{ kind: 'check', appId: '/web', instanceId: t1.instanceId, alive: true, timestamp: undefined }], tombstones).snapshot;
    expect(up.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('healthy');
    const down2 = applyEvents(up, [{ kind: 'instance-health', appId: '/web', instanceId: t1.instanceId, healthy: false, timestamp: undefined }], tombstones).snapshot;
    expect(down2.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('unhealthy');
    const unknown = applyEvents(down2, [{ kind: 'instance-health', appId: '/web', instanceId: t1.instanceId, healthy: null, timestamp: undefined }], tombstones).snapshot;
    expect(unknown.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('unknown');
  });

  it('with several checks, one check coming alive is not enough: fetch the app', () => {
    const checked = app('/web', { healthChecks: [HTTP_CHECK, { ...HTTP_CHECK, path: '/ready' }] });
    const s0 = snapshotOf(appState(checked, [{ ...t1, health: 'unhealthy' }]));
    const r = applyEvents(s0, [{ kind: 'check', appId: '/web', instanceId: t1.instanceId, alive: true, timestamp: undefined }], new Tombstones());
    expect(r.snapshot.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('unhealthy');
    expect([...r.refetch]).toEqual(['/web']);
  });

  it('keeps the identity of apps no event touched, and of the snapshot when nothing changed', () => {
    const other = appState(app('/other'), [task('/other', 1)]);
    const s0 = snapshotOf(appState(web, [t1]), other);
    const s1 = applyEvents(s0, [status(t2, 'TASK_RUNNING')], new Tombstones()).snapshot;
    expect(s1.apps.get('/other')).toBe(other);
    const same = applyEvents(s0, [status(t1, 'TASK_RUNNING')], new Tombstones()).snapshot;
    expect(same).toBe(s0);
  });

  it('every earlier snapshot stays as it was while later ones are made from it (they share one app map)', () => {
    const tombstones = new Tombstones();
    const apps = Array.from({ length: 20 }, (_, i) => appState(app(`/a${i}`), [task(`/a${i}`, 1), task(`/a${i}`, 2)]));
    const history = [mergeFullFetch(snapshotOf(), apps.map((s) => decoded(s.app, [...s.tasks.values()])), tombstones)];
    // By app id (an older snapshot read again may list an app it shares with later ones in another order).
    const taskCounts = (s: (typeof history)[number]) => [...s.apps.values()].map((a) => `${a.app.id} ${a.tasks.size}`).sort();
    const counts = [taskCounts(history[0]!)];
    for (let i = 0; i < 20; i++) {
      const victim = task(`/a${i}`, 1 + (i % 2));
      const next = applyEvents(history[history.length - 1]!, [status(victim, 'TASK_KILLED')], tombstones).snapshot;
      history.push(next);
      counts.push(taskCounts(next));
    }
    // A fetched app on top of an old snapshot, and a 404.
    history.push(withFetchedApp(history[5]!, '/new', decoded(app('/new'), [task('/new', 1)]), tombstones));
    counts.push(taskCounts(history[history.length - 1]!));
    history.push(withFetchedApp(history[history.length - 1]!, '/a0', undefined, tombstones));
    counts.push(taskCounts(history[history.length - 1]!));
    expect(counts[20]).toEqual(Array.from({ length: 20 }, (_, i) => `/a${i} 1`).sort());
    expect(counts[21]).toEqual([...counts[5]!, '/new 1'].sort());
    expect(counts[22]).toEqual(counts[21]!.filter((c) => !c.startsWith('/a0 ')));
    // Read them all again, oldest first, newest first, and at random.
    for (const order of [[...history.keys()], [...history.keys()].reverse(), [3, 17, 0, 22, 9, 21, 20, 1]]) {
      for (const i of order) expect(taskCounts(history[i]!), `snapshot ${i}`).toEqual(counts[i]);
    }
    expect(history[22]!.apps.has('/a0')).toBe(false);
    expect(history[21]!.apps.get('/a0')).toBe(history[1]!.apps.get('/a0'));
  });

  it('folds 10,000 repeated events into the exact final state', () => {
    const tasks = Array.from({ length: 10 }, (_, i) => task('/web', i + 1));
    const s0 = snapshotOf(appState(web, tasks));
    const events: MarathonEvent[] = [];
    for (let i = 0; i < 10_000; i++) {
      const t = tasks[i % 10] as Task;
      events.push(status(t, i % 2 === 0 ? 'TASK_STARTING' : 'TASK_RUNNING'));
    }
    events.push(status(tasks[3] as Task, 'TASK_KILLED'));
    const { snapshot } = applyEvents(s0, events, new Tombstones());
    const left = snapshot.apps.get('/web')?.tasks;
    expect(left?.size).toBe(9);
    for (const t of left?.values() ?? []) expect(t.state).toBe('TASK_RUNNING');
  });
});

describe('incarnations and states that come back', () => {
  const checked = app('/web', { healthChecks: [HTTP_CHECK] });
  const first = task('/web', 1, { stagedAt: '2021-09-20T10:00:00.000Z' });
  const second: Task = { ...first, id: first.id.replace('._app.1', '._app.2'), stagedAt: '2021-09-20T10:05:00.000Z', health: 'unknown' };

  it('an instance event about an earlier incarnation leaves the new one alone', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(checked, [second]));
    const failed: MarathonEvent = { kind: 'instance', instanceId: first.instanceId, appId: '/web', condition: 'Failed', version: undefined, timestamp: '2021-09-20T10:04:00.000Z' };
    const { snapshot } = applyEvents(s0, [failed], tombstones);
    expect(snapshot.apps.get('/web')?.tasks.get(second.id)?.state).toBe('TASK_RUNNING');
    expect(tombstones.has(second.id)).toBe(false);
    // The same event once the new incarnation's time has come does apply (without burying it).
    const later = applyEvents(s0, [{ ...failed, timestamp: '2021-09-20T10:06:00.000Z' } as MarathonEvent], tombstones).snapshot;
    expect(later.apps.get('/web')?.tasks.has(second.id)).toBe(false);
    expect(tombstones.has(second.id)).toBe(false);
  });

  it('a health event about an earlier incarnation does not make the new one healthy', () => {
    const s0 = snapshotOf(appState(checked, [second]));
    const healthy: MarathonEvent = { kind: 'instance-health', instanceId: first.instanceId, appId: '/web', healthy: true, timestamp: '2021-09-20T10:04:00.000Z' };
    const { snapshot } = applyEvents(s0, [healthy], new Tombstones());
    expect(snapshot.apps.get('/web')?.tasks.get(second.id)?.health).toBe('unknown');
  });

  it('TASK_LOST and TASK_GONE_BY_OPERATOR take a task out, but it may come back running', () => {
    for (const state of ['TASK_LOST', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN'] as const) {
      const tombstones = new Tombstones();
      const s0 = snapshotOf(appState(web, [t1]));
      const lost = applyEvents(s0, [status(t1, state)], tombstones).snapshot;
      expect(lost.apps.get('/web')?.tasks.has(t1.id)).toBe(false);
      const back = applyEvents(lost, [status(t1, 'TASK_RUNNING')], tombstones).snapshot;
      expect(back.apps.get('/web')?.tasks.get(t1.id)?.state).toBe('TASK_RUNNING');
      expect(mergeFullFetch(lost, [decoded(web, [t1])], tombstones).apps.get('/web')?.tasks.has(t1.id)).toBe(true);
    }
  });

  it('health of an instance not seen yet asks for a fetch (events are not ordered)', () => {
    const s0 = snapshotOf(appState(checked, []));
    const r = applyEvents(s0, [{ kind: 'instance-health', instanceId: first.instanceId, appId: '/web', healthy: true, timestamp: undefined }], new Tombstones());
    expect([...r.refetch]).toEqual(['/web']);
  });

  it('an unknown aggregate does not take a healthy task out (failover policy)', () => {
    const s0 = snapshotOf(appState(checked, [{ ...first, health: 'healthy' }]));
    const r = applyEvents(s0, [{ kind: 'instance-health', instanceId: first.instanceId, appId: '/web', healthy: null, timestamp: undefined }], new Tombstones());
    expect(r.snapshot.apps.get('/web')?.tasks.get(first.id)?.health).toBe('healthy');
  });
});

describe('fetch merges', () => {
  it('failover policy: a healthy task whose results came back empty stays healthy', () => {
    const checked = app('/web', { healthChecks: [HTTP_CHECK] });
    const s0 = snapshotOf(appState(checked, [{ ...t1, health: 'healthy' }]));
    const s1 = mergeFullFetch(s0, [decoded(checked, [{ ...t1, health: 'unknown' }])], new Tombstones());
    expect(s1.apps.get('/web')?.tasks.get(t1.id)?.health).toBe('healthy');
    // …but a fresh task with no results is unknown.
    const s2 = mergeFullFetch(s0, [decoded(checked, [{ ...t1, health: 'healthy' }, { ...t2, health: 'unknown' }])], new Tombstones());
    expect(s2.apps.get('/web')?.tasks.get(t2.id)?.health).toBe('unknown');
  });

  it('drops apps missing from a full fetch and terminal tasks in it', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(web, [t1]), appState(app('/gone'), []));
    const s1 = mergeFullFetch(s0, [decoded(web, [t1, { ...t2, state: 'TASK_FAILED' }])], tombstones);
    expect([...s1.apps.keys()]).toEqual(['/web']);
    expect(s1.apps.get('/web')?.tasks.has(t2.id)).toBe(false);
    expect(tombstones.has(t2.id)).toBe(true);
  });

  it('returns the same AppState when a fetch finds nothing new', () => {
    const state = appState(web, [t1]);
    const s0 = snapshotOf(state);
    const s1 = mergeFullFetch(s0, [decoded(app('/web'), [{ ...t1 }])], new Tombstones());
    expect(s1.apps.get('/web')).toBe(state);
  });

  it('withFetchedApp replaces one app, and removes it on a 404 without burying its tasks', () => {
    const tombstones = new Tombstones();
    const s0 = snapshotOf(appState(web, [t1]));
    const s1 = withFetchedApp(s0, '/web', decoded(web, [t1, t2]), tombstones);
    expect(s1.apps.get('/web')?.tasks.size).toBe(2);
    const s2 = withFetchedApp(s1, '/web', undefined, tombstones);
    expect(s2.apps.has('/web')).toBe(false);
    expect(tombstones.has(t1.id) || tombstones.has(t2.id)).toBe(false);
  });
});

describe('Tombstones', () => {
  it('is bounded and forgets the oldest ids first', () => {
    const t = new Tombstones(3);
    for (const id of ['a', 'b', 'c', 'd']) t.add(id);
    expect(t.size).toBe(3);
    expect(t.has('a')).toBe(false);
    expect(t.has('d')).toBe(true);
  });
});
