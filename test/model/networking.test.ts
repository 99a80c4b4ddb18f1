import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { App, AppPort, Task } from '../../src/model/app.ts';
import { decodeApp, decodeAppList, type DecodedApp } from '../../src/model/decode.ts';
import { taskEndpoints } from '../../src/model/networking.ts';

function apps(name: string): readonly DecodedApp[] {
  const json = JSON.parse(readFileSync(new URL(`../fixtures/marathon/${name}`, import.meta.url), 'utf8')) as unknown;
  const r = decodeAppList(json);
  if (!r.ok) throw new Error(r.error);
  return r.value.apps;
}

function app(name: string, id: string): DecodedApp {
  const found = apps(name).find((a) => a.app.id === id);
  if (found === undefined) throw new Error(`no app ${id}`);
  return found;
}

function endpointsOf(d: DecodedApp, taskIndex = 0): (string | undefined)[] {
  const task = d.tasks[taskIndex];
  if (task === undefined) throw new Error('no task');
  return taskEndpoints(d.app, task).map((e) => (e === undefined ? undefined : `${e.address}:${e.port}`));
}

function mapping(index: number, containerPort: number, hasHostPort: boolean): AppPort {
  return { index, servicePort: 10000 + index, name: undefined, protocols: ['tcp'], containerPort, hasHostPort, labels: {} };
}

function makeApp(networkMode: App['networkMode'], ports: readonly AppPort[]): App {
  return {
    id: '/t',
    version: 'v2',
    labels: {},
    networkMode,
    ports,
    healthChecks: [],
    hasReadinessChecks: false,
    instances: 1,
    cmd: undefined,
    args: [],
    env: {},
    image: undefined,
    requirePorts: false,
  };
}

function makeTask(host: string, ports: readonly number[], ipAddresses: readonly string[] = []): Task {
  return {
    id: 't.instance-1._app.1',
    instanceId: 't.instance-1',
    appId: '/t',
    host,
    agentId: undefined,
    ipAddresses,
    ports,
    state: 'TASK_RUNNING',
    health: 'none',
    version: 'v2',
    stagedAt: undefined,
    startedAt: undefined,
  };
}

describe('host mode', () => {
  it('zips portDefinitions with task.ports on task.host', () => {
    const api = app('apps-host.json', '/prod/web/api');
    expect(endpointsOf(api, 0)).toEqual(['10.0.1.23:31512', '10.0.1.23:31513']);
    expect(endpointsOf(api, 1)).toEqual(['10.0.1.24:31800', '10.0.1.24:31801']);
  });

  it('a task of an older version with fewer ports pairs only min(len)', () => {
    expect(endpointsOf(app('apps-host.json', '/prod/web/api'), 2)).toEqual(['10.0.1.25:31600', undefined]);
  });

  it('an inactive task (ports []) has no endpoints', () => {
    expect(endpointsOf(app('apps-host.json', '/prod/web/api'), 3)).toEqual([undefined, undefined]);
  });

  it('requirePorts: host ports equal the declared ports', () => {
    expect(endpointsOf(app('apps-host.json', '/infra/fixed'))).toEqual([
      'agent-7.example.com:2001',
      'agent-7.example.com:2002',
      'agent-7.example.com:3000',
    ]);
  });

  it('extra task ports beyond the app ports are ignored', () => {
    const a = makeApp('host', [mapping(0, 0, true)]);
    expect(taskEndpoints(a, makeTask('h', [31000, 31001, 31002]))).toEqual([{ address: 'h', port: 31000 }]);
  });

  it('no host, or a 0 (invalid) task port, gives no endpoint', () => {
    const a = makeApp('host', [mapping(0, 0, true), mapping(1, 0, true)]);
    expect(taskEndpoints(a, makeTask('', [31000, 31001]))).toEqual([undefined, undefined]);
    expect(taskEndpoints(a, makeTask('h', [0, 31001]))).toEqual([undefined, { address: 'h', port: 31001 }]);
  });

  it('an app without ports has no endpoints', () => {
    expect(taskEndpoints(makeApp('host', []), makeTask('h', [31000]))).toEqual([]);
  });
});

describe('container/bridge', () => {
  it('every mapping has a host port (fixed, dynamic, servicePort 0, absent → 0)', () => {
    const nginx = app('apps-bridge.json', '/prod/nginx');
    expect(endpointsOf(nginx)).toEqual([
      'agent-1.example.com:31001',
      'agent-1.example.com:8081',
      'agent-1.example.com:31002',
      'agent-1.example.com:31003',
    ]);
    expect(nginx.app.ports[2]?.servicePort).toBe(0);
  });

  it('uses the agent, never the container IP', () => {
    const a = makeApp('container/bridge', [mapping(0, 80, true)]);
    expect(taskEndpoints(a, makeTask('agent', [31000], ['172.17.0.2']))).toEqual([{ address: 'agent', port: 31000 }]);
  });
});

describe('container (IP per task)', () => {
  it('no hostPort: task IP + containerPort', () => {
    expect(endpointsOf(app('apps-container.json', '/prod/grpc'), 0)).toEqual(['9.0.1.17:8080']);
  });

  it('no IP yet: unresolved', () => {
    expect(endpointsOf(app('apps-container.json', '/prod/grpc'), 1)).toEqual([undefined]);
  });

  it('index shift: a mapping without hostPort between two with does not consume a task port', () => {
    // task.ports = [31100, 31101] belong to mappings 0 and 2; mapping 1 is IP:containerPort.
    expect(endpointsOf(app('apps-container.json', '/prod/mixed'))).toEqual([
      '10.0.1.30:31100',
      '9.0.2.5:9000',
      '10.0.1.30:31101',
    ]);
  });

  it('index shift without an IP: the host-port mappings still resolve', () => {
    const a = makeApp('container', [mapping(0, 80, true), mapping(1, 9000, false), mapping(2, 0, true)]);
    expect(taskEndpoints(a, makeTask('h', [31100, 31101]))).toEqual([
      { address: 'h', port: 31100 },
      undefined,
      { address: 'h', port: 31101 },
    ]);
  });

  it('multiple networks: the first task IP, as Marathon does', () => {
    expect(endpointsOf(app('apps-container.json', '/prod/multi'))).toEqual(['9.0.3.8:80', '9.0.3.8:81']);
  });

  it('containerPort 0 without a host port is unresolved', () => {
    const a = makeApp('container', [mapping(0, 0, false)]);
    expect(taskEndpoints(a, makeTask('h', [], ['9.0.0.1']))).toEqual([undefined]);
  });

  it('version mismatch: fewer task ports than host-port mappings leaves the rest unresolved', () => {
    const a = makeApp('container', [mapping(0, 80, true), mapping(1, 81, false), mapping(2, 82, true), mapping(3, 83, true)]);
    expect(taskEndpoints(a, makeTask('h', [31000, 31001], ['9.0.0.1']))).toEqual([
      { address: 'h', port: 31000 },
      { address: '9.0.0.1', port: 81 },
      { address: 'h', port: 31001 },
      undefined,
    ]);
  });
});

describe('legacy apps', () => {
  const legacy = apps('apps-legacy.json');
  const get = (id: string): DecodedApp => {
    const d = legacy.find((a) => a.app.id === id);
    if (d === undefined) throw new Error(id);
    return d;
  };

  it('top-level ports', () => {
    expect(endpointsOf(get('/legacy/ports'))).toEqual(['srv4.example.com:31292', 'srv4.example.com:31293']);
  });

  it('docker BRIDGE with docker.portMappings', () => {
    expect(endpointsOf(get('/legacy/bridge'))).toEqual(['srv2.example.com:31721', 'srv2.example.com:31722']);
  });

  it('docker USER: mapping without hostPort uses the task IP, the one with hostPort the first task port', () => {
    expect(endpointsOf(get('/legacy/user'))).toEqual(['9.0.0.21:80', 'srv5.example.com:31500']);
  });

  it('ipAddress discovery ports', () => {
    expect(endpointsOf(get('/legacy/ippertask'))).toEqual(['10.200.1.9:80', '10.200.1.9:5353']);
  });

  it('old docs app_list.json has no tasks but decodes to host ports', () => {
    const old = apps('app-list-old-format.json')[0];
    if (old === undefined) throw new Error('no app');
    expect(taskEndpoints(old.app, makeTask('srv', [31000, 31001]))).toEqual([
      { address: 'srv', port: 31000 },
      { address: 'srv', port: 31001 },
    ]);
  });
});

describe('end to end from raw JSON', () => {
  it('decode + endpoints for a CONTRACT-shaped container/bridge app', () => {
    const r = decodeApp({
      id: '/b',
      version: 'v',
      networks: [{ mode: 'container/bridge' }],
      container: { type: 'DOCKER', docker: { image: 'nginx:1.21' }, portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10003 }] },
      tasks: [{ id: 'b.instance-1._app.1', host: 'a1', ports: [31555], ipAddresses: [{ ipAddress: '172.17.0.9' }], state: 'TASK_RUNNING' }],
    });
    if (!r.ok) throw new Error(r.error);
    const task = r.value.tasks[0];
    if (task === undefined) throw new Error('no task');
    expect(taskEndpoints(r.value.app, task)).toEqual([{ address: 'a1', port: 31555 }]);
  });
});
