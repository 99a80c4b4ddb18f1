import { describe, expect, it } from 'vitest';
import { TableBuilder, isEmptyDiff, type TableOptions } from '../../src/model/routing-table.ts';
import { Tombstones, applyEvents } from '../../src/model/snapshot.ts';
import { HTTP_CHECK, app, appState, port, snapshotOf, task } from '../helpers/model-data.ts';
import { seededRandom } from '../helpers/random.ts';

const OPTIONS: TableOptions = { groups: ['external'], strictMode: false, healthCheck: true, bind: '0.0.0.0' };

describe('TableBuilder', () => {
  it('exposes one service per app port with its running tasks as backends', () => {
    const web = app('/prod/web', { ports: [port(0, 10001), port(1, 10002)] });
    const t1 = task('/prod/web', 1, { ports: [31001, 32001] });
    const { table } = new TableBuilder(OPTIONS).build(snapshotOf(appState(web, [t1])), 1000);
    expect(table.version).toBe(1);
    expect(table.services.map((s) => [s.key, s.listenPort, s.mode, s.bindAddress])).toEqual([
      ['/prod/web:0', 10001, 'tcp', '0.0.0.0'],
      ['/prod/web:1', 10002, 'tcp', '0.0.0.0'],
    ]);
    expect(table.services[1]?.backends).toEqual([
      expect.objectContaining({ taskId: t1.id, address: '10.0.1.1', port: 32001, routable: true, draining: false }),
    ]);
    expect(table.counts).toEqual({ apps: 1, tasks: 1, routableBackends: 2 });
  });

  it('routes only healthy tasks of apps with health checks; unknown is not healthy', () => {
    const web = app('/web', { healthChecks: [HTTP_CHECK] });
    const tasks = [
      task('/web', 1, { health: 'healthy' }),
      task('/web', 2, { health: 'unknown' }),
      task('/web', 3, { health: 'unhealthy' }),
      task('/web', 4, { health: 'healthy', state: 'TASK_KILLING' }),
      task('/web', 5, { health: 'healthy', state: 'TASK_STAGING' }),
    ];
    const { table } = new TableBuilder(OPTIONS).build(snapshotOf(appState(web, tasks)));
    const backends = table.services[0]?.backends ?? [];
    expect(backends.map((b) => [b.taskId.slice(-12), b.routable, b.draining])).toEqual([
      [tasks[0]?.id.slice(-12), true, false],
      [tasks[1]?.id.slice(-12), false, false],
      [tasks[2]?.id.slice(-12), false, false],
      [tasks[3]?.id.slice(-12), false, true],
    ]);
    // HTTP health check on port 0: marathon-lb serves that port in http mode.
    expect(table.services[0]?.mode).toBe('http');
  });

  it('with --health-check off, health is ignored', () => {
    const web = app('/web', { healthChecks: [HTTP_CHECK] });
    const { table } = new TableBuilder({ ...OPTIONS, healthCheck: false }).build(
      snapshotOf(appState(web, [task('/web', 1, { health: 'unhealthy' }), task('/web', 2, { health: 'unknown' })])),
    );
    expect(table.services[0]?.backends.every((b) => b.routable)).toBe(true);
  });

  it('filters by group but keeps every app for DNS', () => {
    const internal = app('/internal', { labels: { HAPROXY_GROUP: 'internal' } });
    const unlabelled = app('/plain', { labels: {} });
    const external = app('/ext');
    const snapshot = snapshotOf(appState(internal, [task('/internal', 1)]), appState(unlabelled, []), appState(external, []));
    const { table } = new TableBuilder(OPTIONS).build(snapshot);
    expect(table.services.map((s) => s.appId)).toEqual(['/ext']);
    expect(table.apps.map((a) => a.appId)).toEqual(['/ext', '/internal', '/plain']);
    const all = new TableBuilder({ ...OPTIONS, groups: ['*'] }).build(snapshot).table;
    expect(all.services.map((s) => s.appId).sort()).toEqual(['/ext', '/internal', '/plain']);
  });

  it('applies HAPROXY_{n}_PORT, _BIND_ADDR, _MODE and VHOST', () => {
    const web = app('/web', {
      labels: {
        HAPROXY_GROUP: 'external',
        HAPROXY_0_PORT: '8081',
        HAPROXY_0_BIND_ADDR: '127.0.0.1',
        HAPROXY_0_VHOST: 'Web.Example.com',
        HAPROXY_1_MODE: 'http',
      },
      ports: [port(0, 10001), port(1, 10002)],
    });
    const { table } = new TableBuilder(OPTIONS).build(snapshotOf(appState(web, [])));
    expect(table.services.map((s) => [s.listenPort, s.bindAddress, s.mode, s.spec.vhosts])).toEqual([
      [8081, '127.0.0.1', 'http', ['web.example.com']],
      [10002, '0.0.0.0', 'http', []],
    ]);
  });

  it('gives udp-only ports udp mode and keeps both protocols of udp,tcp', () => {
    const dns = app('/dns', { ports: [port(0, 10053, { protocols: ['udp'] }), port(1, 10054, { protocols: ['udp', 'tcp'] })] });
    const { table } = new TableBuilder(OPTIONS).build(snapshotOf(appState(dns, [])));
    expect(table.services.map((s) => [s.mode, s.protocols])).toEqual([
      ['udp', ['udp']],
      ['tcp', ['udp', 'tcp']],
    ]);
  });

  it('skips ports with no service port and reports bad labels without dropping the app', () => {
    const web = app('/web', {
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: 'abc' },
      ports: [port(0, 10001), port(1, 0)],
    });
    const { table } = new TableBuilder(OPTIONS).build(snapshotOf(appState(web, [])));
    expect(table.services.map((s) => s.listenPort)).toEqual([10001]);
    expect(table.problems).toEqual([expect.objectContaining({ appId: '/web', label: 'HAPROXY_0_PORT', value: 'abc' })]);
  });

  it('bumps the version only on change, and diffs backends added, removed and changed', () => {
    const builder = new TableBuilder(OPTIONS);
    const web = app('/web', { healthChecks: [HTTP_CHECK] });
    const t1 = task('/web', 1, { health: 'healthy' });
    const t2 = task('/web', 2, { health: 'healthy' });
    const s0 = snapshotOf(appState(web, [t1]));
    const first = builder.build(s0);
    expect(first.diff.added.map((s) => s.key)).toEqual(['/web:0']);

    const again = builder.build(snapshotOf(appState(web, [{ ...t1 }])));
    expect(again.table).toBe(first.table);
    expect(isEmptyDiff(again.diff)).toBe(true);

    const tombstones = new Tombstones();
    const s1 = snapshotOf(appState(web, [t1, t2]));
    const grown = builder.build(s1);
    expect(grown.table.version).toBe(2);
    expect(grown.diff.changed[0]?.backendsAdded.map((b) => b.taskId)).toEqual([t2.id]);

    const s2 = applyEvents(s1, [{ kind: 'check', appId: '/web', instanceId: t1.instanceId, alive: false, timestamp: undefined }], tombstones).snapshot;
    const sick = builder.build(s2);
    expect(sick.table.version).toBe(3);
    expect(sick.diff.changed[0]?.backendsChanged.map((b) => [b.taskId, b.routable])).toEqual([[t1.id, false]]);
    expect(sick.diff.changed[0]?.specChanged).toBe(false);

    const gone = builder.build(snapshotOf());
    expect(gone.diff.removed.map((s) => s.key)).toEqual(['/web:0']);
    expect(gone.table.services).toEqual([]);
  });

  it('rebuilds only the apps whose state changed', () => {
    const builder = new TableBuilder(OPTIONS);
    const a = appState(app('/a', { ports: [port(0, 10001)] }), [task('/a', 1)]);
    const b = appState(app('/b', { ports: [port(0, 10002)] }), [task('/b', 1)]);
    const first = builder.build(snapshotOf(a, b)).table;
    const b2 = appState(b.app, [task('/b', 1), task('/b', 2)]);
    const second = builder.build(snapshotOf(a, b2)).table;
    // The untouched app's service object is reused as is.
    expect(second.services.find((s) => s.appId === '/a')).toBe(first.services.find((s) => s.appId === '/a'));
    expect(second.services.find((s) => s.appId === '/b')?.backends).toHaveLength(2);
  });
});

describe('cluster info', () => {
  it('decodes /v2/info and bumps the table version when the leader changes', async () => {
    const { decodeInfo } = await import('../../src/model/cluster.ts');
    const info = decodeInfo({
      name: 'marathon',
      version: '1.10.17',
      leader: '10.0.0.1:8080',
      frameworkId: 'fw-1',
      marathon_config: { framework_name: 'marathon-prod', mesos_leader_ui_url: 'http://10.0.0.5:5050/' },
    });
    expect(info).toEqual({
      ok: true,
      value: { frameworkName: 'marathon-prod', frameworkId: 'fw-1', marathonVersion: '1.10.17', marathonLeader: '10.0.0.1:8080', mesosLeaderUiUrl: 'http://10.0.0.5:5050/' },
    });
    expect(decodeInfo('nope').ok).toBe(false);
    if (!info.ok) return;
    const builder = new TableBuilder(OPTIONS);
    const s0 = snapshotOf(appState(app('/a'), []));
    const first = builder.build({ ...s0, info: info.value });
    expect(first.table.cluster?.marathonLeader).toBe('10.0.0.1:8080');
    expect(builder.build({ ...s0, info: { ...info.value } }).table.version).toBe(first.table.version);
    const moved = builder.build({ ...s0, info: { ...info.value, marathonLeader: '10.0.0.2:8080' } });
    expect(moved.table.version).toBe(first.table.version + 1);
    expect(moved.diff.cluster).toBe(true);
  });
});

describe('incremental builds', () => {
  it('patched and narrowed builds give the same table as a build from scratch, over random changes', () => {
    const random = seededRandom(42);
    const ids = Array.from({ length: 30 }, (_, i) => `/r/app${i}`);
    const states = new Map(ids.slice(0, 20).map((id, i) => [id, appState(app(id, { ports: [port(0, 10100 + i)] }), [task(id, 1), task(id, 2)])]));
    const hinted = new TableBuilder(OPTIONS);
    const full = new TableBuilder(OPTIONS);
    hinted.build({ apps: new Map(states) });
    full.build({ apps: new Map(states) });
    for (let step = 0; step < 300; step++) {
      const id = ids[Math.floor(random() * ids.length)] as string;
      const current = states.get(id);
      const roll = random();
      if (!current) states.set(id, appState(app(id, { ports: [port(0, 10100 + ids.indexOf(id))] }), [task(id, 1)]));
      else if (roll < 0.1) states.delete(id);
      else if (roll < 0.2) states.set(id, appState(app(id, { ports: [port(0, 10500 + step)] }), [...current.tasks.values()]));
      else if (roll < 0.3) states.set(id, appState(app(id, { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: 'x' } }), [...current.tasks.values()]));
      else {
        const n = 1 + Math.floor(random() * 5);
        const tasks = [...current.tasks.values()];
        const t = task(id, n, { health: random() < 0.5 ? 'none' : 'unhealthy', state: random() < 0.2 ? 'TASK_KILLING' : 'TASK_RUNNING' });
        states.set(id, appState(current.app, tasks.some((x) => x.id === t.id) ? tasks.map((x) => (x.id === t.id ? t : x)) : [...tasks, t]));
      }
      const a = hinted.build({ apps: new Map(states) }, 0, [id]).table;
      const b = full.build({ apps: new Map(states) }, 0).table;
      // The reference: a table built from scratch by a fresh builder.
      const scratch = new TableBuilder(OPTIONS).build({ apps: new Map(states) }, 0).table;
      expect(a.version, `step ${step}`).toBe(b.version);
      const content = (t: typeof a) => ({ services: t.services, apps: t.apps, problems: t.problems, counts: t.counts });
      expect(content(a), `step ${step}`).toEqual(content(scratch));
      expect(content(b), `step ${step}`).toEqual(content(scratch));
    }
  });
});
