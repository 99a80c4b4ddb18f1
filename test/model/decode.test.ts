import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/model/app.ts';
import {
  decodeApp,
  decodeAppList,
  decodeAppResponse,
  decodeTask,
  type DecodedApp,
} from '../../src/model/decode.ts';
import { instanceIdOf } from '../../src/model/task-id.ts';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/marathon/${name}`, import.meta.url), 'utf8')) as unknown;
}

function list(name: string): readonly DecodedApp[] {
  const r = decodeAppList(fixture(name));
  if (!r.ok) throw new Error(r.error);
  expect(r.value.problems).toEqual([]);
  return r.value.apps;
}

function byId(apps: readonly DecodedApp[], id: string): DecodedApp {
  const found = apps.find((a) => a.app.id === id);
  if (found === undefined) throw new Error(`no app ${id}`);
  return found;
}

function decoded(json: unknown): DecodedApp {
  const r = decodeApp(json);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const MINIMAL_APP: App = decoded({ id: '/x', version: 'v1' }).app;

describe('decodeAppList: 1.5+ host mode (CONTRACT §2.2 example)', () => {
  const apps = list('apps-host.json');
  const api = byId(apps, '/prod/web/api');

  it('decodes the app fields', () => {
    expect(api.problems).toEqual([]);
    expect(api.app.version).toBe('2021-09-20T10:15:02.117Z');
    expect(api.app.networkMode).toBe('host');
    expect(api.app.labels).toEqual({ HAPROXY_GROUP: 'external' });
    expect(api.app.instances).toBe(2);
    expect(api.app.cmd).toBe('./api --http $PORT_HTTP --admin $PORT_ADMIN');
    expect(api.app.args).toEqual([]);
    expect(api.app.image).toBeUndefined();
    expect(api.app.requirePorts).toBe(false);
    expect(api.app.hasReadinessChecks).toBe(false);
  });

  it('keeps string env values and skips secret references', () => {
    expect(api.app.env).toEqual({ LOG_LEVEL: 'info' });
  });

  it('maps portDefinitions to ports with service port, name, protocol and labels', () => {
    expect(api.app.ports).toEqual([
      { index: 0, servicePort: 10001, name: 'http', protocols: ['tcp'], containerPort: undefined, hasHostPort: true, labels: {} },
      {
        index: 1,
        servicePort: 10002,
        name: 'admin',
        protocols: ['tcp'],
        containerPort: undefined,
        hasHostPort: true,
        labels: { VIP_0: '/api:9090' },
      },
    ]);
  });

  it('decodes the health check', () => {
    expect(api.app.healthChecks).toEqual([
      {
        protocol: 'HTTP',
        portIndex: 0,
        port: undefined,
        path: '/health',
        intervalSeconds: 60,
        timeoutSeconds: 20,
        maxConsecutiveFailures: 3,
      },
    ]);
  });

  it('decodes embedded tasks, including terminal ones', () => {
    expect(api.tasks.map((t) => t.state)).toEqual(['TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_FAILED']);
    const t0 = api.tasks[0];
    expect(t0).toEqual({
      id: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.1',
      instanceId: 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002',
      appId: '/prod/web/api',
      host: '10.0.1.23',
      agentId: '4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S2',
      ipAddresses: ['10.0.1.23'],
      ports: [31512, 31513],
      state: 'TASK_RUNNING',
      health: 'healthy',
      version: '2021-09-20T10:15:02.117Z',
      stagedAt: '2021-09-20T10:15:03.510Z',
      startedAt: '2021-09-20T10:15:09.440Z',
    });
  });

  it('judges health per task: empty results unknown, rollout fallback healthy', () => {
    expect(api.tasks.map((t) => t.health)).toEqual(['healthy', 'unknown', 'healthy', 'unknown']);
  });

  it('decodes an inactive task without version and ports', () => {
    const failed = api.tasks[3];
    expect(failed?.version).toBeUndefined();
    expect(failed?.startedAt).toBeUndefined();
    expect(failed?.ports).toEqual([]);
    expect(failed?.instanceId).toBe('prod_web_api.instance-9e3d5f41-1f7a-11ec-9a4c-0242ac110002');
  });

  it('decodes requirePorts and udp,tcp', () => {
    const fixed = byId(apps, '/infra/fixed');
    expect(fixed.app.requirePorts).toBe(true);
    expect(fixed.app.ports.map((p) => p.servicePort)).toEqual([2001, 2002, 3000]);
    expect(fixed.app.ports.map((p) => p.protocols)).toEqual([['tcp'], ['tcp'], ['udp', 'tcp']]);
    expect(fixed.app.healthChecks).toEqual([]);
    expect(fixed.tasks[0]?.health).toBe('none');
  });

  it('an explicit portDefinitions [] means no ports', () => {
    expect(byId(apps, '/infra/noports').app.ports).toEqual([]);
  });
});

describe('decodeAppList: container/bridge and container', () => {
  it('bridge: portMappings with servicePort 0 and udp,tcp', () => {
    const nginx = byId(list('apps-bridge.json'), '/prod/nginx');
    expect(nginx.app.networkMode).toBe('container/bridge');
    expect(nginx.app.image).toBe('nginx:1.21');
    expect(nginx.app.ports.map((p) => [p.servicePort, p.containerPort, p.hasHostPort, p.protocols])).toEqual([
      [10003, 80, true, ['tcp']],
      [10005, 8081, true, ['tcp']],
      [0, 0, true, ['tcp']],
      // bridge mode: an absent hostPort becomes 0, i.e. still a host port (§3.1)
      [10006, 53, true, ['udp', 'tcp']],
    ]);
  });

  it('container: mappings without hostPort have no host port; tcp,udp normalised', () => {
    const apps = list('apps-container.json');
    const grpc = byId(apps, '/prod/grpc');
    expect(grpc.app.networkMode).toBe('container');
    expect(grpc.app.image).toBe('example/grpc:2.3');
    expect(grpc.app.ports).toEqual([
      { index: 0, servicePort: 10004, name: 'grpc', protocols: ['tcp'], containerPort: 8080, hasHostPort: false, labels: {} },
    ]);
    const mixed = byId(apps, '/prod/mixed');
    expect(mixed.app.ports.map((p) => p.hasHostPort)).toEqual([true, false, true]);
    const multi = byId(apps, '/prod/multi');
    expect(multi.app.networkMode).toBe('container');
    expect(multi.app.ports[1]?.protocols).toEqual(['udp', 'tcp']);
    expect(multi.tasks[0]?.ipAddresses).toEqual(['9.0.3.8', '9.1.3.8']);
  });
});

describe('decodeAppList: legacy pre-1.5 input', () => {
  const apps = list('apps-legacy.json');

  it('top-level ports without portDefinitions → host mode service ports', () => {
    const a = byId(apps, '/legacy/ports');
    expect(a.app.networkMode).toBe('host');
    expect(a.app.ports.map((p) => [p.index, p.servicePort, p.hasHostPort, p.protocols, p.name])).toEqual([
      [0, 10013, true, ['tcp'], undefined],
      [1, 10015, true, ['tcp'], undefined],
    ]);
    expect(a.app.args).toEqual([]);
    expect(a.app.image).toBeUndefined();
    expect(a.tasks[0]?.instanceId).toBe('legacy_ports.marathon-083be411-5d1f-11e5-88f7-56b91e7a505b');
    expect(a.tasks[0]?.ipAddresses).toEqual([]);
  });

  it('docker.network BRIDGE with docker.portMappings → container/bridge, absent hostPort still a host port', () => {
    const a = byId(apps, '/legacy/bridge');
    expect(a.app.networkMode).toBe('container/bridge');
    expect(a.app.image).toBe('mesosphere/registry:2');
    expect(a.app.ports.map((p) => [p.servicePort, p.containerPort, p.hasHostPort, p.name])).toEqual([
      [10019, 5000, true, 'registry'],
      [10020, 5001, true, undefined],
    ]);
    expect(a.app.ports[0]?.labels).toEqual({ VIP_0: '1.2.3.4:5000' });
  });

  it('docker.network USER + ipAddress → container, absent hostPort is no host port', () => {
    const a = byId(apps, '/legacy/user');
    expect(a.app.networkMode).toBe('container');
    expect(a.app.ports.map((p) => [p.servicePort, p.containerPort, p.hasHostPort])).toEqual([
      [10030, 80, false],
      [10031, 8080, true],
    ]);
  });

  it('ipAddress with discovery.ports → container mode with container ports and no service ports', () => {
    const a = byId(apps, '/legacy/ippertask');
    expect(a.app.networkMode).toBe('container');
    expect(a.app.ports).toEqual([
      { index: 0, servicePort: 0, name: 'http', protocols: ['tcp'], containerPort: 80, hasHostPort: false, labels: {} },
      { index: 1, servicePort: 0, name: 'mdns', protocols: ['udp'], containerPort: 5353, hasHostPort: false, labels: {} },
    ]);
    expect(a.tasks[0]?.instanceId).toBe('legacy_ippertask.marathon-682ebe64-0771-11e4-b05d-e0f84720c54e');
  });

  it('reads the docs example app_list.json (old format, container null, args null)', () => {
    const apps2 = list('app-list-old-format.json');
    expect(apps2).toHaveLength(1);
    const a = apps2[0];
    expect(a?.problems).toEqual([]);
    expect(a?.app).toEqual({
      id: '/myapp',
      version: '2015-09-25T15:13:48.343Z',
      labels: {},
      networkMode: 'host',
      ports: [
        { index: 0, servicePort: 10013, name: undefined, protocols: ['tcp'], containerPort: undefined, hasHostPort: true, labels: {} },
        { index: 1, servicePort: 10015, name: undefined, protocols: ['tcp'], containerPort: undefined, hasHostPort: true, labels: {} },
      ],
      healthChecks: [],
      hasReadinessChecks: false,
      instances: 3,
      cmd: 'env && sleep 60',
      args: [],
      env: { LD_LIBRARY_PATH: '/usr/local/lib/myLib' },
      image: undefined,
      requirePorts: false,
    });
    expect(a?.tasks).toEqual([]);
  });

  it('the newest networks[] wins over legacy fields', () => {
    const a = decoded({
      id: '/both',
      networks: [{ mode: 'container/bridge' }],
      ipAddress: { networkName: 'dcos' },
      container: { docker: { image: 'x', network: 'USER' }, portMappings: [{ containerPort: 80 }] },
    });
    expect(a.app.networkMode).toBe('container/bridge');
    expect(a.app.ports[0]?.hasHostPort).toBe(true);
  });

  it('a network without mode is container (RAML default); HOST docker network is host', () => {
    expect(decoded({ id: '/n', networks: [{ name: 'dcos' }] }).app.networkMode).toBe('container');
    expect(decoded({ id: '/h', container: { docker: { network: 'HOST', image: 'i' } }, portDefinitions: [{ port: 0 }] }).app.networkMode).toBe(
      'host',
    );
    expect(decoded({ id: '/d' }).app.networkMode).toBe('host');
  });
});

describe('decodeAppResponse and health checks', () => {
  const r = decodeAppResponse(fixture('app-response.json'));
  if (!r.ok) throw new Error(r.error);
  const { app, tasks, problems } = r.value;

  it('decodes the app of GET /v2/apps/{id}', () => {
    expect(problems).toEqual([]);
    expect(app.id).toBe('/prod/checked');
    expect(app.hasReadinessChecks).toBe(true);
    expect(app.instances).toBe(3);
  });

  it('applies health check defaults per protocol (§4.1)', () => {
    expect(app.healthChecks).toEqual([
      { protocol: 'MESOS_HTTP', portIndex: 0, port: undefined, path: '/ready', intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 0 },
      { protocol: 'MESOS_TCP', portIndex: 1, port: undefined, path: undefined, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
      { protocol: 'COMMAND', portIndex: undefined, port: undefined, path: undefined, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
      { protocol: 'HTTPS', portIndex: undefined, port: 8443, path: '/', intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
      { protocol: 'HTTP', portIndex: 0, port: undefined, path: '/', intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3 },
    ]);
  });

  it('a result not alive makes the task unhealthy even with fewer results than checks', () => {
    expect(tasks[0]?.health).toBe('unhealthy');
  });

  it('fails without an app', () => {
    expect(decodeAppResponse({ message: "App '/x' does not exist" })).toEqual({ ok: false, error: 'app response has no "app"' });
    expect(decodeAppResponse(null).ok).toBe(false);
    expect(decodeAppResponse({ app: 5 }).ok).toBe(false);
  });
});

describe('decodeTask', () => {
  const checked = decoded({ id: '/c', version: 'v2', healthChecks: [{ protocol: 'HTTP' }, { protocol: 'TCP' }] }).app;
  const base = { id: 'c.instance-abc._app.1', state: 'TASK_RUNNING', host: 'h', ports: [1], version: 'v2' };

  function health(extra: Record<string, unknown>): string {
    const r = decodeTask({ ...base, ...extra }, checked);
    if (!r.ok) throw new Error(r.error);
    return r.value.health;
  }

  it('health: every case', () => {
    expect(health({ healthCheckResults: [] })).toBe('unknown');
    expect(health({})).toBe('unknown');
    expect(health({ healthCheckResults: null })).toBe('unknown');
    expect(health({ healthCheckResults: [{ alive: true }] })).toBe('unknown');
    expect(health({ healthCheckResults: [{ alive: true }, { alive: true }] })).toBe('healthy');
    expect(health({ healthCheckResults: [{ alive: true }, { alive: false }] })).toBe('unhealthy');
    expect(health({ healthCheckResults: [{ alive: false }] })).toBe('unhealthy');
    // ≤1.3 results carried taskId instead of instanceId; only alive matters
    expect(health({ healthCheckResults: [{ alive: true, taskId: 'x' }, { alive: true, taskId: 'x' }] })).toBe('healthy');
    // a result without a boolean alive is not evidence of health
    expect(health({ healthCheckResults: [{ consecutiveFailures: 0 }, { alive: true }] })).toBe('unhealthy');
    // rollout: the task's version differs → at least one result, all alive
    expect(health({ version: 'v1', healthCheckResults: [{ alive: true }] })).toBe('healthy');
    expect(health({ version: 'v1', healthCheckResults: [] })).toBe('unknown');
    expect(health({ version: 'v1', healthCheckResults: [{ alive: false }] })).toBe('unhealthy');
  });

  it('health none without checks', () => {
    const r = decodeTask({ ...base, healthCheckResults: [{ alive: false }] }, MINIMAL_APP);
    expect(r.ok && r.value.health).toBe('none');
  });

  it('defaults: host "" and appId from the app; null treated like absent', () => {
    const r = decodeTask(
      { id: 'x.instance-1._app.1', state: 'TASK_STAGING', host: null, slaveId: '', ipAddresses: null, ports: null, version: null },
      MINIMAL_APP,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        id: 'x.instance-1._app.1',
        instanceId: 'x.instance-1',
        appId: '/x',
        host: '',
        agentId: undefined,
        ipAddresses: [],
        ports: [],
        state: 'TASK_STAGING',
        health: 'none',
        version: undefined,
        stagedAt: undefined,
        startedAt: undefined,
      },
    });
  });

  it('accepts event-only states and rejects unknown ones', () => {
    expect(decodeTask({ ...base, state: 'TASK_LOST' }, MINIMAL_APP).ok).toBe(true);
    expect(decodeTask({ ...base, state: 'TASK_GONE_BY_OPERATOR' }, MINIMAL_APP).ok).toBe(true);
    expect(decodeTask({ ...base, state: 'TASK_EXPLODED' }, MINIMAL_APP)).toEqual({
      ok: false,
      error: 'task c.instance-abc._app.1: unknown state "TASK_EXPLODED"',
    });
    expect(decodeTask({ ...base, state: undefined }, MINIMAL_APP).ok).toBe(false);
  });

  it('fails on non-objects and missing ids, never throws', () => {
    for (const bad of [null, undefined, 1, 'task', [], true]) expect(decodeTask(bad, MINIMAL_APP).ok).toBe(false);
    expect(decodeTask({ state: 'TASK_RUNNING' }, MINIMAL_APP).ok).toBe(false);
    expect(decodeTask({ id: 7, state: 'TASK_RUNNING' }, MINIMAL_APP).ok).toBe(false);
    expect(decodeTask({ id: '', state: 'TASK_RUNNING' }, MINIMAL_APP).ok).toBe(false);
  });

  it('bad task ports keep their position as 0 and are reported', () => {
    const r = decodeApp({ id: '/p', tasks: [{ ...base, ports: [31000, 70000, 'x', 31001] }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.tasks[0]?.ports).toEqual([31000, 0, 0, 31001]);
    expect(r.value.problems).toEqual([
      'task c.instance-abc._app.1.ports[1] 70000 is not a port (0-65535)',
      'task c.instance-abc._app.1.ports[2] "x" is not a port (0-65535)',
    ]);
  });

  it('skips malformed ipAddresses entries', () => {
    const r = decodeTask({ ...base, ipAddresses: [null, { protocol: 'IPv4' }, { ipAddress: '' }, { ipAddress: '9.9.9.9' }] }, MINIMAL_APP);
    expect(r.ok && r.value.ipAddresses).toEqual(['9.9.9.9']);
  });
});

describe('malformed input', () => {
  it('decodeApp fails on non-objects and missing ids, never throws', () => {
    for (const bad of [null, undefined, 0, 'app', [], [{ id: '/a' }], { id: 5 }, {}, { id: '' }, { id: '/' }, { id: null }]) {
      const r = decodeApp(bad);
      expect(r.ok).toBe(false);
    }
    expect(decodeApp({ cmd: 'x' })).toEqual({ ok: false, error: 'app without a string id (id is undefined)' });
  });

  it('a relative id is resolved against the root', () => {
    expect(decoded({ id: 'web' }).app.id).toBe('/web');
  });

  it('decodeAppList fails without an apps array and isolates bad apps', () => {
    expect(decodeAppList(null).ok).toBe(false);
    expect(decodeAppList({ app: {} }).ok).toBe(false);
    expect(decodeAppList({ apps: {} }).ok).toBe(false);
    const r = decodeAppList({ apps: [{ id: '/good' }, 42, { id: 3 }, { id: '/good2', tasks: [{ id: 't.1', state: 'NOPE' }] }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.apps.map((a) => a.app.id)).toEqual(['/good', '/good2']);
    expect(r.value.problems).toEqual([
      'apps[1] skipped: app is 42, not an object',
      'apps[2] skipped: app without a string id (id is 3)',
    ]);
    expect(r.value.apps[1]?.tasks).toEqual([]);
    expect(r.value.apps[1]?.problems).toEqual(['/good2: tasks[0] skipped: task t.1: unknown state "NOPE"']);
  });

  it('out-of-range ports stay in place (indices aligned) with 0 and a problem', () => {
    const a = decoded({
      id: '/bad',
      portDefinitions: [{ port: 10001 }, { port: 70000 }, { port: -1 }, 'junk', { port: 1.5 }, { port: 10002 }],
    });
    expect(a.app.ports.map((p) => [p.index, p.servicePort])).toEqual([
      [0, 10001],
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [5, 10002],
    ]);
    expect(a.problems).toEqual([
      '/bad.portDefinitions[1].port 70000 is not a port (0-65535)',
      '/bad.portDefinitions[2].port -1 is not a port (0-65535)',
      '/bad.portDefinitions[3] is "junk", not a port definition',
      '/bad.portDefinitions[4].port 1.5 is not a port (0-65535)',
    ]);
  });

  it('bad mapping numbers and protocols are reported', () => {
    const a = decoded({
      id: '/m',
      networks: [{ mode: 'container', name: 'n' }],
      container: {
        portMappings: [
          { containerPort: 100000, hostPort: 0, servicePort: 'x' },
          { containerPort: 80, protocol: 'sctp' },
          { containerPort: 81, hostPort: 'y' },
          null,
        ],
      },
    });
    expect(a.app.ports.map((p) => [p.containerPort, p.servicePort, p.hasHostPort, p.protocols])).toEqual([
      [0, 0, true, ['tcp']],
      [80, 0, false, []],
      [81, 0, true, ['tcp']],
      [0, 0, false, ['tcp']],
    ]);
    expect(a.problems).toEqual([
      '/m.container.portMappings[0].servicePort "x" is not a port (0-65535)',
      '/m.container.portMappings[0].containerPort 100000 is not a port (0-65535)',
      '/m.container.portMappings[1].protocol "sctp" is not tcp, udp or udp,tcp; the port is not exposed',
      '/m.container.portMappings[2].hostPort "y" is not a port (0-65535)',
      '/m.container.portMappings[3] is null, not a port mapping',
    ]);
  });

  it('protocols are normalised case- and order-insensitively', () => {
    const a = decoded({
      id: '/p',
      portDefinitions: [{ port: 1, protocol: 'TCP' }, { port: 2, protocol: 'tcp, udp' }, { port: 3, protocol: 'UDP' }, { port: 4, protocol: null }],
    });
    expect(a.app.ports.map((p) => p.protocols)).toEqual([['tcp'], ['udp', 'tcp'], ['udp'], ['tcp']]);
    expect(a.problems).toEqual([]);
  });

  it('wrongly typed fields are repaired and reported', () => {
    const a = decoded({
      id: '/w',
      labels: { A: 'a', B: 1 },
      env: { X: 'x', S: { secret: 's' }, N: 2 },
      args: ['a', 3],
      instances: -2,
      networks: [{ mode: 'host' }, { mode: 'container/bridge' }],
      healthChecks: [{ protocol: 'GOPHER' }, 'x'],
      tasks: 'nope',
      requirePorts: 'yes',
    });
    expect(a.app.labels).toEqual({ A: 'a' });
    expect(a.app.env).toEqual({ X: 'x' });
    expect(a.app.args).toEqual(['a']);
    expect(a.app.instances).toBe(1);
    expect(a.app.networkMode).toBe('host');
    expect(a.app.requirePorts).toBe(false);
    expect(a.app.healthChecks.map((h) => h.protocol)).toEqual(['HTTP']);
    expect(a.problems).toEqual([
      '/w.networks mixes host and container/bridge; using host',
      '/w.instances -2 is not a count; using 1',
      '/w.labels.B is 1, not a string',
      '/w.healthChecks[0].protocol "GOPHER" is unknown; treated as HTTP',
      '/w.healthChecks[1] is "x", not a health check',
      '/w.args[1] is 3, not a string',
      '/w.env.N is 2, not a string',
      '/w.tasks is "nope", not an array',
    ]);
  });

  it('a __proto__ label key survives the repair copy as a plain key', () => {
    const a = decoded(JSON.parse('{"id":"/proto","labels":{"__proto__":"x","bad":1}}'));
    expect(Object.keys(a.app.labels)).toEqual(['__proto__']);
    expect(a.app.labels['__proto__']).toBe('x');
  });
});

describe('task ids', () => {
  it.each([
    ['prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.1', 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002'],
    ['prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app.42', 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002'],
    ['prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002._app', 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002'],
    ['myGroup_myApp.marathon-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6.$anon', 'myGroup_myApp.marathon-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6'],
    ['myGroup_myApp.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6.rails.42', 'myGroup_myApp.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6'],
    // a bare instance id (failed_health_check_event.taskId carries one)
    ['prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002', 'prod_web_api.instance-6b0a2c1e-1f7a-11ec-9a4c-0242ac110002'],
    // pre-instance-era forms → Marathon's derived instance id with the marathon- prefix
    ['app.4455cb85-0c16-490d-b84e-481f8321ff0a', 'app.marathon-4455cb85-0c16-490d-b84e-481f8321ff0a'],
    ['app_682ebe64-0771-11e4-b05d-e0f84720c54e', 'app.marathon-682ebe64-0771-11e4-b05d-e0f84720c54e'],
    ['app.4455cb85-0c16-490d-b84e-481f8321ff0a.1', 'app.marathon-4455cb85-0c16-490d-b84e-481f8321ff0a'],
    ['tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed', 'tools_docker_registry.marathon-002b4d28-46b9-11e5-b731-525400cce7ed'],
    // unparseable ids map to themselves
    ['plainid', 'plainid'],
    ['', ''],
  ])('%s → %s', (taskId, instanceId) => {
    expect(instanceIdOf(taskId)).toBe(instanceId);
  });
});

describe('performance', () => {
  it('decodes 10,000 apps × 10 tasks (the time is measured by bench/, not asserted here)', () => {
    const apps: unknown[] = [];
    for (let a = 0; a < 10_000; a++) {
      const tasks: unknown[] = [];
      for (let t = 0; t < 10; t++) {
        tasks.push({
          appId: `/perf/app-${a}`,
          healthCheckResults: [{ alive: true, consecutiveFailures: 0, instanceId: `perf_app-${a}.instance-${t}` }],
          host: `10.0.${a % 250}.${t}`,
          id: `perf_app-${a}.instance-0000${t}-1f7a-11ec-9a4c-0242ac110002._app.1`,
          ipAddresses: [{ ipAddress: `10.0.${a % 250}.${t}`, protocol: 'IPv4' }],
          ports: [31000 + t, 32000 + t],
          servicePorts: [],
          slaveId: `S${t}`,
          state: 'TASK_RUNNING',
          stagedAt: '2021-09-20T10:15:03.510Z',
          startedAt: '2021-09-20T10:15:09.440Z',
          version: '2021-09-20T10:15:02.117Z',
          localVolumes: [],
          role: '*',
        });
      }
      apps.push({
        id: `/perf/app-${a}`,
        cmd: 'x',
        env: { A: 'b' },
        healthChecks: [{ path: '/health', portIndex: 0, protocol: 'HTTP' }],
        instances: 10,
        labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `app-${a}.example.com` },
        networks: [{ mode: 'host' }],
        portDefinitions: [
          { port: 10000 + (a % 10000), name: 'http', protocol: 'tcp' },
          { port: 0, name: 'admin', protocol: 'tcp' },
        ],
        version: '2021-09-20T10:15:02.117Z',
        tasks,
      });
    }
    const body = JSON.parse(JSON.stringify({ apps })) as unknown;
    const r = decodeAppList(body);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.apps).toHaveLength(10_000);
    expect(r.value.apps[9_999]?.tasks).toHaveLength(10);
    expect(r.value.apps[9_999]?.tasks[9]?.health).toBe('healthy');
  });
});
