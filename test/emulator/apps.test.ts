// REST contract: app and task JSON vs CONTRACT §2.2/§2.3, networking modes, legacy input, service ports, /v2/info.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { allRunning, getJson, postJson } from './helpers.ts';
import type { Obj } from './helpers.ts';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const EXAMPLES = new URL('../fixtures/marathon/examples/', import.meta.url);

function withoutEmbeds(app: Obj): Obj {
  const o = { ...app };
  for (const k of ['tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'tasks', 'lastTaskFailure', 'readinessCheckResults']) delete o[k];
  return o;
}

async function createAndGet(emu: Emulator, app: Obj): Promise<Obj> {
  const r = await postJson(`${emu.url}/v2/apps`, app);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = String((r.body as Obj)['id']);
  const g = await getJson(`${emu.url}/v2/apps${id}`);
  return (g.body['app'] as Obj);
}

describe('app JSON (CONTRACT §2.2)', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator({ stepDelayMs: 1 }); });
  afterAll(async () => { await emu.close(); });

  it('host mode: written exactly like the contract example', async () => {
    const input = {
      id: '/prod/web/api', cmd: './api --http $PORT_HTTP --admin $PORT_ADMIN', cpus: 0.5, mem: 256, instances: 2,
      env: { LOG_LEVEL: 'info' }, labels: { HAPROXY_GROUP: 'external' },
      healthChecks: [{ path: '/health', protocol: 'HTTP' }],
      portDefinitions: [{ port: 10001, name: 'http', protocol: 'tcp' }, { port: 10002, name: 'admin', labels: { VIP_0: '/api:9090' } }],
    };
    const post = await postJson(`${emu.url}/v2/apps`, input);
    expect(post.status).toBe(201);
    expect(post.headers.get('location')).toBe('/v2/apps/prod/web/api');
    const depId = post.headers.get('marathon-deployment-id');
    expect(depId).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.body['deployments']).toEqual([{ id: depId }]);
    expect(post.body['tasks']).toEqual([]);
    await emu.waitForTasks('/prod/web/api', allRunning(2));
    const app = (await getJson(`${emu.url}/v2/apps/prod/web/api`)).body['app'] as Obj;
    const v = String(app['version']);
    expect(v).toMatch(TS);
    const expected = `{"id":"/prod/web/api","backoffFactor":1.15,"backoffSeconds":1,"cmd":"./api --http $PORT_HTTP --admin $PORT_ADMIN",`
      + `"cpus":0.5,"disk":0,"env":{"LOG_LEVEL":"info"},"executor":"",`
      + `"healthChecks":[{"gracePeriodSeconds":300,"ignoreHttp1xx":false,"intervalSeconds":60,"maxConsecutiveFailures":3,"path":"/health",`
      + `"portIndex":0,"protocol":"HTTP","ipProtocol":"IPv4","timeoutSeconds":20,"delaySeconds":15}],`
      + `"instances":2,"labels":{"HAPROXY_GROUP":"external"},"maxLaunchDelaySeconds":300,"mem":256,"gpus":0,`
      + `"networks":[{"mode":"host"}],`
      + `"portDefinitions":[{"port":10001,"name":"http","protocol":"tcp"},{"port":10002,"labels":{"VIP_0":"/api:9090"},"name":"admin","protocol":"tcp"}],`
      + `"requirePorts":false,"upgradeStrategy":{"maximumOverCapacity":1,"minimumHealthCapacity":1},`
      + `"version":"${v}","versionInfo":{"lastScalingAt":"${v}","lastConfigChangeAt":"${v}"},`
      + `"killSelection":"YOUNGEST_FIRST","unreachableStrategy":{"inactiveAfterSeconds":0,"expungeAfterSeconds":0},"role":"*"}`;
    expect(JSON.stringify(withoutEmbeds(app))).toBe(expected);
    expect(Object.keys(app).slice(-7)).toEqual(['role', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'tasks']);
  });

  it('bridge mode (legacy docker.network BRIDGE input) is answered in the new format', async () => {
    const app = await createAndGet(emu, {
      id: '/bridge', instances: 0,
      container: { type: 'DOCKER', docker: { image: 'nginx:1.21', network: 'BRIDGE', portMappings: [{ containerPort: 80, name: 'http', servicePort: 10003 }] } },
    });
    expect(app['networks']).toEqual([{ mode: 'container/bridge' }]);
    expect(JSON.stringify(app['container'])).toBe('{"type":"DOCKER","docker":{"forcePullImage":false,"image":"nginx:1.21","parameters":[],"privileged":false},"volumes":[],'
      + '"portMappings":[{"containerPort":80,"hostPort":0,"labels":{},"name":"http","protocol":"tcp","servicePort":10003}]}');
    expect(app).not.toHaveProperty('portDefinitions');
    expect(app).not.toHaveProperty('ports');
  });

  it('container mode (legacy USER network + ipAddress) is answered in the new format', async () => {
    const app = await createAndGet(emu, {
      id: '/overlay', instances: 0,
      container: { type: 'DOCKER', docker: { image: 'grpc:1', network: 'USER' } },
      ipAddress: { networkName: 'dcos', discovery: { ports: [{ number: 8080, name: 'grpc', protocol: 'tcp' }] } },
    });
    expect(app['networks']).toEqual([{ name: 'dcos', mode: 'container' }]);
    expect(JSON.stringify(app['networks'])).toBe('[{"name":"dcos","mode":"container"}]');
    const pm = (app['container'] as Obj)['portMappings'] as Obj[];
    expect(pm).toHaveLength(1);
    expect(Object.keys(pm[0] ?? {})).toEqual(['containerPort', 'labels', 'name', 'protocol', 'servicePort']);
    expect(pm[0]?.['containerPort']).toBe(8080);
    expect(app).not.toHaveProperty('ipAddress');
    expect(app).not.toHaveProperty('portDefinitions');
  });

  it('new-format container mode keeps portMappings without hostPort', async () => {
    const app = await createAndGet(emu, {
      id: '/overlay2', instances: 0, networks: [{ name: 'dcos', mode: 'container' }],
      container: { type: 'MESOS', portMappings: [{ containerPort: 8080, name: 'grpc', servicePort: 10004 }] },
    });
    expect(JSON.stringify((app['container'] as Obj)['portMappings'])).toBe('[{"containerPort":8080,"labels":{},"name":"grpc","protocol":"tcp","servicePort":10004}]');
  });

  it('host mode with a container writes no portMappings', async () => {
    const app = await createAndGet(emu, {
      id: '/hostdocker', instances: 0, networks: [{ mode: 'host' }],
      container: { type: 'DOCKER', docker: { image: 'x', network: 'HOST' }, portMappings: [{ containerPort: 1 }] },
      portDefinitions: [{ port: 10050 }],
    });
    expect(app['container']).not.toHaveProperty('portMappings');
    expect(app['portDefinitions']).toEqual([{ port: 10050, protocol: 'tcp' }]);
  });

  it('legacy ports and uris become portDefinitions and fetch; deprecated fields are never written', async () => {
    const app = await createAndGet(emu, { id: '/legacy', instances: 0, cmd: 'x', ports: [0, 0], uris: ['http://x/y.tgz'] });
    for (const k of ['ports', 'uris', 'ipAddress']) expect(app).not.toHaveProperty(k);
    const pds = app['portDefinitions'] as Obj[];
    expect(pds).toHaveLength(2);
    expect(pds.every((p) => typeof p['port'] === 'number' && (p['port'] as number) >= 10000 && p['protocol'] === 'tcp')).toBe(true);
    expect(app['fetch']).toEqual([{ uri: 'http://x/y.tgz', extract: true, executable: false, cache: false }]);
  });

  it('writes tcp,udp back as udp,tcp', async () => {
    const app = await createAndGet(emu, { id: '/both', instances: 0, portDefinitions: [{ port: 0, protocol: 'tcp,udp', name: 'g' }] });
    expect((app['portDefinitions'] as Obj[])[0]?.['protocol']).toBe('udp,tcp');
  });

  it('omits empty omitEmpty fields, always writes labels', async () => {
    const app = await createAndGet(emu, { id: '/bare', instances: 0, args: [], constraints: [], env: {}, healthChecks: [], dependencies: [] });
    for (const k of ['args', 'constraints', 'env', 'healthChecks', 'dependencies', 'fetch', 'readinessChecks', 'secrets', 'cmd', 'container', 'user']) {
      expect(app, k).not.toHaveProperty(k);
    }
    expect(app['labels']).toEqual({});
  });

  it('a missing portDefinitions becomes one default port; an explicit [] stays empty', async () => {
    const a = await createAndGet(emu, { id: '/dflt', instances: 0 });
    const pds = a['portDefinitions'] as Obj[];
    expect(pds).toHaveLength(1);
    expect(Object.keys(pds[0] ?? {})).toEqual(['port', 'name', 'protocol']);
    expect(pds[0]?.['name']).toBe('default');
    const b = await createAndGet(emu, { id: '/noports', instances: 0, portDefinitions: [] });
    expect(b['portDefinitions']).toEqual([]);
  });

  it('answers 404 and 422 like Marathon', async () => {
    const r = await getJson(`${emu.url}/v2/apps/does/not/exist`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ message: "App '/does/not/exist' does not exist" });
    const bad = await postJson(`${emu.url}/v2/apps`, { id: '/Bad_Name' });
    expect(bad.status).toBe(422);
    expect((bad.body['details'] as Obj[])[0]?.['path']).toBe('/id');
    const dup = await postJson(`${emu.url}/v2/apps`, { id: '/bare', instances: 0 });
    expect(dup.status).toBe(409);
  });
});

describe('service ports', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator({ stepDelayMs: 1 }); });
  afterAll(async () => { await emu.close(); });

  it('assigns the lowest free port in [10000, 20000], skipping taken ones', async () => {
    const a = await createAndGet(emu, { id: '/a', instances: 0, portDefinitions: [{ port: 0 }, { port: 0 }] });
    expect((a['portDefinitions'] as Obj[]).map((p) => p['port'])).toEqual([10000, 10001]);
    await createAndGet(emu, { id: '/b', instances: 0, portDefinitions: [{ port: 10002 }] });
    const c = await createAndGet(emu, { id: '/c', instances: 0, networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image: 'x' }, portMappings: [{ containerPort: 80 }] } });
    expect(((c['container'] as Obj)['portMappings'] as Obj[])[0]?.['servicePort']).toBe(10003);
  });

  it('keeps an app\'s assigned ports across updates', async () => {
    const put = await postJson(`${emu.url}/v2/apps/a`, { cmd: 'changed' }, 'PUT');
    expect(put.status).toBe(200);
    const a = (await getJson(`${emu.url}/v2/apps/a`)).body['app'] as Obj;
    expect((a['portDefinitions'] as Obj[]).map((p) => p['port'])).toEqual([10000, 10001]);
  });
});

describe('embeds and filters (CONTRACT §2.1)', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ stepDelayMs: 1 });
    await emu.createApp({ id: '/prod/web', cmd: 'run-web', instances: 1, labels: { HAPROXY_GROUP: 'external', tier: 'front' } });
    await emu.createApp({ id: '/prod/db', cmd: 'run-db', instances: 1, labels: { tier: 'back' } });
    await emu.createApp({ id: '/dev/web', cmd: 'run-web --dev', instances: 0, labels: {} });
    await emu.waitForTasks('/prod/web', allRunning(1));
    await emu.waitForTasks('/prod/db', allRunning(1));
    await emu.waitForDeployments();
  });
  afterAll(async () => { await emu.close(); });

  const ids = async (q: string): Promise<string[]> => ((await getJson(`${emu.url}/v2/apps${q}`)).body['apps'] as Obj[]).map((a) => String(a['id']));

  it('always adds counts and deployments, tasks only on request', async () => {
    const apps = (await getJson(`${emu.url}/v2/apps`)).body['apps'] as Obj[];
    for (const a of apps) {
      expect(a).toHaveProperty('tasksRunning');
      expect(a['deployments']).toEqual([]);
      expect(a).not.toHaveProperty('tasks');
    }
    for (const q of ['embed=apps.tasks', 'embed=app.tasks', 'embed=group.apps.tasks', 'embed=tasks']) {
      const withTasks = (await getJson(`${emu.url}/v2/apps?${q}`)).body['apps'] as Obj[];
      expect(withTasks.find((a) => a['id'] === '/prod/web')?.['tasks'], q).toHaveLength(1);
    }
    const ready = (await getJson(`${emu.url}/v2/apps?embed=apps.readiness&embed=apps.lastTaskFailure`)).body['apps'] as Obj[];
    expect(ready[0]?.['readinessCheckResults']).toEqual([]);
    expect(ready[0]).not.toHaveProperty('lastTaskFailure');
  });

  it('GET /v2/apps/{id} always embeds tasks, counts and deployments', async () => {
    const app = (await getJson(`${emu.url}/v2/apps/prod/web`)).body['app'] as Obj;
    expect(app['tasks']).toHaveLength(1);
    expect(app['tasksRunning']).toBe(1);
    expect(app['deployments']).toEqual([]);
  });

  it('filters by id (case-insensitive substring), label selector and cmd', async () => {
    expect(await ids('?id=WEB')).toEqual(['/dev/web', '/prod/web']);
    expect(await ids('?id=prod')).toEqual(['/prod/db', '/prod/web']);
    expect(await ids('?label=HAPROXY_GROUP')).toEqual(['/prod/web']);
    expect(await ids('?label=tier==back')).toEqual(['/prod/db']);
    expect(await ids('?label=tier!=back')).toEqual(['/dev/web', '/prod/web']);
    expect(await ids(`?label=${encodeURIComponent('tier in (front,back),HAPROXY_GROUP==external')}`)).toEqual(['/prod/web']);
    expect(await ids('?cmd=--dev')).toEqual(['/dev/web']);
  });

  it('GET /v2/apps/prod/* lists the group', async () => {
    const r = await getJson(`${emu.url}/v2/apps/prod/*`);
    expect((r.body['*'] as Obj[]).map((a) => a['id']).sort()).toEqual(['/prod/db', '/prod/web']);
  });
});

describe('task JSON (CONTRACT §2.3)', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ stepDelayMs: 1 });
    await emu.createApp({ id: '/prod/web/api', instances: 2, portDefinitions: [{ port: 10001, name: 'http' }, { port: 10002, name: 'admin' }], healthChecks: [{ protocol: 'TCP' }] });
    await emu.waitForTasks('/prod/web/api', (t) => allRunning(2)(t) && t.every((x) => (x['healthCheckResults'] as Obj[]).length === 1));
  });
  afterAll(async () => { await emu.close(); });

  const ORDER = ['appId', 'healthCheckResults', 'host', 'id', 'ipAddresses', 'ports', 'servicePorts', 'slaveId', 'state', 'stagedAt', 'startedAt', 'version', 'localVolumes', 'role'];

  it('writes fields in wire order with Marathon ids and timestamps', async () => {
    const tasks = (await getJson(`${emu.url}/v2/apps/prod/web/api/tasks`)).body['tasks'] as Obj[];
    expect(tasks).toHaveLength(2);
    for (const t of tasks) {
      expect(Object.keys(t)).toEqual(ORDER);
      expect(t['id']).toMatch(/^prod_web_api\.instance-[0-9a-f-]{36}\._app\.1$/);
      expect(t['slaveId']).toMatch(/^[0-9a-f-]{36}-S0$/);
      for (const k of ['stagedAt', 'startedAt', 'version']) expect(t[k]).toMatch(TS);
      expect((t['ports'] as number[])).toHaveLength(2);
      expect(t['servicePorts']).toEqual([]);
      const hc = (t['healthCheckResults'] as Obj[])[0] ?? {};
      expect(Object.keys(hc)).toEqual(['alive', 'consecutiveFailures', 'firstSuccess', 'instanceId', 'lastSuccess']);
      expect(String(t['id']).startsWith(String(hc['instanceId']) + '._app.')).toBe(true);
    }
  });

  it('fills servicePorts only in GET /v2/tasks', async () => {
    const all = (await getJson(`${emu.url}/v2/tasks`)).body['tasks'] as Obj[];
    expect(all).toHaveLength(2);
    for (const t of all) expect(t['servicePorts']).toEqual([10001, 10002]);
    const embedded = ((await getJson(`${emu.url}/v2/apps?embed=apps.tasks`)).body['apps'] as Obj[])[0]?.['tasks'] as Obj[];
    for (const t of embedded) expect(t['servicePorts']).toEqual([]);
    const running = (await getJson(`${emu.url}/v2/tasks?status=running`)).body['tasks'] as Obj[];
    expect(running).toHaveLength(2);
    const staging = (await getJson(`${emu.url}/v2/tasks?status=staging`)).body['tasks'] as Obj[];
    expect(staging).toHaveLength(0);
  });

  it('keeps fields that tasks.json / app_tasks.json examples show', () => {
    const example = JSON.parse(readFileSync(new URL('tasks.json', EXAMPLES), 'utf8')) as { tasks: Obj[] };
    const keys = new Set(Object.keys(example.tasks[0] ?? {}));
    for (const k of ['region', 'zone']) keys.delete(k); // optional, omitted when the agent has no domain
    for (const k of keys) expect(ORDER).toContain(k);
  });

  it('an inactive task is listed with ports [] and no stagedAt/startedAt/version', async () => {
    const t = (await emu.waitForTasks('/prod/web/api', allRunning(2)))[0] ?? {};
    await emu.setTaskState(String(t['id']), 'TASK_FAILED', { relaunch: false, message: 'boom' });
    const after = (await getJson(`${emu.url}/v2/apps/prod/web/api/tasks`)).body['tasks'] as Obj[];
    const failed = after.find((x) => x['id'] === t['id']) ?? {};
    expect(failed['state']).toBe('TASK_FAILED');
    expect(failed['ports']).toEqual([]);
    expect(Object.keys(failed)).toEqual(['appId', 'healthCheckResults', 'host', 'id', 'ipAddresses', 'ports', 'servicePorts', 'slaveId', 'state', 'localVolumes', 'role']);
    const app = (await getJson(`${emu.url}/v2/apps/prod/web/api`)).body['app'] as Obj;
    const ltf = app['lastTaskFailure'] as Obj;
    expect(Object.keys(ltf)).toEqual(['appId', 'host', 'message', 'state', 'taskId', 'timestamp', 'version', 'slaveId']);
    expect(ltf['state']).toBe('TASK_FAILED');
    expect(ltf['message']).toBe('boom');
  });
});

describe('mutations', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator({ stepDelayMs: 1 }); });
  afterAll(async () => { await emu.close(); });

  it('PUT instances scales; PUT definition changes replace every task; DELETE removes the app', async () => {
    await postJson(`${emu.url}/v2/apps`, { id: '/m', cmd: 'v1', instances: 1 });
    const first = await emu.waitForTasks('/m', allRunning(1));
    await emu.waitForDeployments();
    const scale = await postJson(`${emu.url}/v2/apps/m`, { instances: 3 }, 'PUT');
    expect(scale.status).toBe(200);
    expect(Object.keys(scale.body)).toEqual(['version', 'deploymentId']);
    expect(scale.headers.get('marathon-deployment-id')).toBe(scale.body['deploymentId']);
    const three = await emu.waitForTasks('/m', allRunning(3));
    expect(three.map((t) => t['id'])).toContain(first[0]?.['id']);
    await emu.waitForDeployments();
    const app = (await getJson(`${emu.url}/v2/apps/m`)).body['app'] as Obj;
    const vi = app['versionInfo'] as Obj;
    expect(vi['lastScalingAt']).toBe(app['version']);
    expect(vi['lastConfigChangeAt']).not.toBe(app['version']);

    const change = await postJson(`${emu.url}/v2/apps/m`, { cmd: 'v2' }, 'PUT');
    expect(change.status).toBe(200);
    const oldIds = new Set(three.map((t) => t['id']));
    const replaced = await emu.waitForTasks('/m', (t) => allRunning(3)(t) && t.every((x) => !oldIds.has(x['id'])));
    expect(replaced.every((t) => t['version'] === change.body['version'])).toBe(true);
    await emu.waitForDeployments();

    const del = await getJson(`${emu.url}/v2/apps/m`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(Object.keys(del.body)).toEqual(['version', 'deploymentId']);
    expect((await getJson(`${emu.url}/v2/apps/m`)).status).toBe(404);
    await emu.waitForDeployments();
    expect(emu.tasks('/m')).toEqual([]);
  });

  it('killing a task relaunches a new one unless scale=true', async () => {
    await emu.createApp({ id: '/k', instances: 2 });
    const tasks = await emu.waitForTasks('/k', allRunning(2));
    await emu.waitForDeployments();
    const victim = String(tasks[0]?.['id']);
    const kill = await getJson(`${emu.url}/v2/apps/k/tasks/${victim}`, { method: 'DELETE' });
    expect(kill.status).toBe(200);
    expect((kill.body['task'] as Obj)['id']).toBe(victim);
    const after = await emu.waitForTasks('/k', (t) => allRunning(2)(t) && !t.some((x) => x['id'] === victim));
    const victim2 = String(after[0]?.['id']);
    const scaled = await getJson(`${emu.url}/v2/apps/k/tasks/${victim2}?scale=true`, { method: 'DELETE' });
    expect(Object.keys(scaled.body)).toEqual(['version', 'deploymentId']);
    await emu.waitForTasks('/k', (t) => allRunning(1)(t) && !t.some((x) => x['id'] === victim2));
    await emu.waitForDeployments();
    expect(((await getJson(`${emu.url}/v2/apps/k`)).body['app'] as Obj)['instances']).toBe(1);
  });

  it('a locked app answers 409 unless force=true; /v2/deployments shows the running deployment', async () => {
    await emu.createApp({ id: '/locked', instances: 1, healthChecks: [{ protocol: 'HTTP' }] }, { autoHealthy: false });
    await emu.waitForTasks('/locked', allRunning(1));
    const deps = (await getJson(`${emu.url}/v2/deployments`)).body as unknown as Obj[];
    const d = deps.find((x) => (x['affectedApps'] as string[]).includes('/locked')) ?? {};
    expect(Object.keys(d)).toEqual(['id', 'version', 'affectedApps', 'affectedPods', 'steps', 'currentActions', 'currentStep', 'totalSteps']);
    expect(d['currentActions']).toEqual([{ action: 'ScaleApplication', app: '/locked', readinessCheckResults: [] }]);
    expect(d['currentStep']).toBe(2);
    expect(d['totalSteps']).toBe(2);
    const app = (await getJson(`${emu.url}/v2/apps/locked`)).body['app'] as Obj;
    expect(app['deployments']).toEqual([{ id: d['id'] }]);
    const locked = await postJson(`${emu.url}/v2/apps/locked`, { instances: 2 }, 'PUT');
    expect(locked.status).toBe(409);
    const forced = await postJson(`${emu.url}/v2/apps/locked?force=true`, { instances: 0 }, 'PUT');
    expect(forced.status).toBe(200);
    await emu.waitForDeployments();
  });
});

describe('GET /v2/info, /v2/leader, /ping', () => {
  let emu: Emulator;
  beforeAll(async () => { emu = await startEmulator(); });
  afterAll(async () => { await emu.close(); });

  it('has every key of examples/info.json plus the 1.10 keys', async () => {
    const example = JSON.parse(readFileSync(new URL('info.json', EXAMPLES), 'utf8')) as Obj;
    const info = (await getJson(`${emu.url}/v2/info`)).body;
    expect(Object.keys(info).sort()).toEqual(Object.keys(example).sort());
    for (const section of ['marathon_config', 'zookeeper_config', 'http_config']) {
      const keys = Object.keys(info[section] as Obj);
      for (const k of Object.keys(example[section] as Obj)) expect(keys, `${section}.${k}`).toContain(k);
    }
    const mc = info['marathon_config'] as Obj;
    expect(mc).toHaveProperty('maintenance_mode');
    expect(mc).toHaveProperty('new_group_enforce_role');
    expect(mc['mesos_leader_ui_url']).toMatch(/^http:\/\//);
    expect(String(mc['master'])).not.toMatch(/:[^x@/]+@/);
    expect(info['elected']).toBe(true);
    expect(info['leader']).toBe(new URL(emu.url).host);
    expect((info['http_config'] as Obj)['http_port']).toBe(Number(new URL(emu.url).port));
  });

  it('/v2/leader and /ping', async () => {
    expect((await getJson(`${emu.url}/v2/leader`)).body).toEqual({ leader: new URL(emu.url).host });
    const ping = await fetch(`${emu.url}/ping`);
    expect(ping.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ping.text()).toBe('pong');
  });
});
