/**
 * The proxy end to end: the Marathon emulator runs real backends, pacer runs as its own process,
 * real clients go through pacer's service ports and virtual-host listener.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { freePorts, http, pacerArgs, taskOf, tcpFirstLine } from './helpers.ts';

interface EmuTask {
  id: string;
  state: string;
}

let emulator: EmulatorProc;
let pacer: PacerProc;
let httpPort: number;
let P: { tcp: number; web: number; api: number; apiV2: number; checked: number; auth: number; redirect: number; acl: number; busy: number; plain: number };
let blocker: Server;
const base = () => `http://127.0.0.1:${httpPort}`;

async function running(appId: string, n: number): Promise<string[]> {
  return waitFor(`${n} running tasks of ${appId}`, async () => {
    const { body } = await getJson<{ app: { tasks: EmuTask[] } }>(`${emulator.leader}/v2/apps${appId}`);
    const ids = body.app.tasks.filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id).sort();
    return ids.length === n ? ids : undefined;
  }, 10_000);
}

function app(id: string, port: number, labels: Record<string, string>, instances = 1, extra: Record<string, unknown> = {}) {
  return { id, instances, cmd: 'serve', labels: { HAPROXY_GROUP: 'external', ...labels }, portDefinitions: [{ port, protocol: 'tcp', name: 'p' }], ...extra };
}

/** Who answers `n` consecutive requests. */
async function httpTasks(n: number, url: string, host?: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await http(url, { host });
    expect(answer.status).toBe(200);
    out.push(taskOf(answer));
  }
  return out;
}

const HASH = bcrypt.hashSync('s3cret', 4);

beforeAll(async () => {
  const ports = await freePorts(11);
  httpPort = ports[0]!;
  P = { tcp: ports[1]!, web: ports[2]!, api: ports[3]!, apiV2: ports[4]!, checked: ports[5]!, auth: ports[6]!, redirect: ports[7]!, acl: ports[8]!, busy: ports[9]!, plain: ports[10]! };
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(P.busy, '127.0.0.1', resolve));
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  const apps: [object, string, boolean?][] = [
    [app('/t/echo', P.tcp, {}, 3), 'tcp'],
    [app('/t/web', P.web, { HAPROXY_0_VHOST: 'web.test,www.test', HAPROXY_0_MODE: 'http' }, 3), 'http'],
    [app('/t/api', P.api, { HAPROXY_0_VHOST: 'web.test', HAPROXY_0_PATH: '/api' }), 'http'],
    [app('/t/api-v2', P.apiV2, { HAPROXY_0_VHOST: 'web.test', HAPROXY_0_PATH: '/api/v2', HAPROXY_0_BACKEND_WEIGHT: '5' }), 'http'],
    [
      app('/t/checked', P.checked, { HAPROXY_0_MODE: 'http' }, 2, {
        healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 1 }],
      }),
      'http',
      true,
    ],
    [app('/t/auth', P.auth, { HAPROXY_0_VHOST: 'auth.test', HAPROXY_0_AUTH: `private:alice:${HASH}` }), 'http'],
    [app('/t/redirect', P.redirect, { HAPROXY_0_VHOST: 'secure.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }), 'http'],
    [app('/t/acl', P.acl, { HAPROXY_0_MODE: 'http', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8' }), 'http'],
    [app('/t/busy', P.busy, { HAPROXY_0_MODE: 'http' }), 'http'],
    [app('/t/plain', P.plain, { HAPROXY_0_MODE: 'http', HAPROXY_0_HTTP_BACKEND_REDIR: '/home' }), 'http'],
  ];
  for (const [a, backend, autoHealthy] of apps) await emulator.post('/apps', { app: a, backend, autoHealthy: autoHealthy ?? false });
  await running('/t/web', 3);
  pacer = await startPacer(pacerArgs(emulator.leader, httpPort));
  await waitFor('pacer to route /t/web', async () => ((await http(base(), { host: 'web.test' })).status === 200 ? true : undefined), 10_000);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
});

describe('service ports', () => {
  it('round-robins TCP connections over 3 tasks', async () => {
    const tasks = await running('/t/echo', 3);
    await waitFor('tcp port', () => tcpFirstLine(P.tcp).then(() => true));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await tcpFirstLine(P.tcp));
    expect(new Set(seen)).toEqual(new Set(tasks));
    expect(seen.slice(0, 3).sort()).toEqual(tasks);
  });

  it('round-robins HTTP requests over 3 tasks, and forwards X-Forwarded-*', async () => {
    const tasks = await running('/t/web', 3);
    const seen = await httpTasks(6, `http://127.0.0.1:${P.web}/`);
    expect(seen.slice(0, 3).sort()).toEqual(tasks);
    expect(seen.slice(3).sort()).toEqual(tasks);
  });

  it('reports a port it cannot bind, and serves the others', async () => {
    const view = await getJson<{ problems: { kind: string; listener: string; services: string[] }[] }>(`${pacer.admin}/proxy/listeners`);
    expect(view.body.problems).toContainEqual(expect.objectContaining({ kind: 'bind', listener: `tcp 127.0.0.1:${P.busy}`, services: ['/t/busy:0'] }));
    expect(await metric(pacer.admin, 'pacer_listener_problems', { kind: 'bind' })).toBe(1);
    expect((await http(`http://127.0.0.1:${P.plain}/x`)).status).toBe(200);
  });

  it('redirects / to HTTP_BACKEND_REDIR', async () => {
    const answer = await http(`http://127.0.0.1:${P.plain}/`);
    expect(answer.status).toBe(301);
    expect(answer.headers['location']).toBe('/home');
  });

  it('refuses clients outside BACKEND_NETWORK_ALLOWED_ACL with 403', async () => {
    const answer = await http(`http://127.0.0.1:${P.acl}/`);
    expect(answer.status).toBe(403);
  });
});

describe('virtual hosts', () => {
  it('routes by Host (any case, port ignored) and by path prefix, by BACKEND_WEIGHT order', async () => {
    const [web] = [await running('/t/web', 3)];
    const [api] = await running('/t/api', 1);
    const [apiV2] = await running('/t/api-v2', 1);
    expect(web).toContain(taskOf(await http(`${base()}/`, { host: 'WEB.test:8080' })));
    expect(web).toContain(taskOf(await http(`${base()}/x`, { host: 'www.test' })));
    expect(taskOf(await http(`${base()}/api/users`, { host: 'web.test' }))).toBe(api);
    expect(taskOf(await http(`${base()}/api/v2/users`, { host: 'web.test' }))).toBe(apiV2);
  });

  it('routes by X-Marathon-App-Id', async () => {
    const [api] = await running('/t/api', 1);
    expect(taskOf(await http(`${base()}/`, { headers: { 'x-marathon-app-id': '/t/api' } }))).toBe(api);
  });

  it('answers 503 with a short page for an unknown host', async () => {
    const answer = await http(`${base()}/`, { host: 'nobody.test' });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatch(/no service/);
  });

  it('asks for basic auth, refuses a wrong password, lets the right one through', async () => {
    const none = await http(`${base()}/`, { host: 'auth.test' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="private"');
    const wrong = await http(`${base()}/`, { host: 'auth.test', headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const right = await http(`${base()}/`, { host: 'auth.test', headers: { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } });
    expect(right.status).toBe(200);
  });

  it('redirects to https for REDIRECT_TO_HTTPS', async () => {
    const answer = await http(`${base()}/a?b=1`, { host: 'secure.test' });
    expect(answer.status).toBe(301);
    expect(answer.headers['location']).toBe('https://secure.test/a?b=1');
  });
});

describe('changes in place', () => {
  it('a killed task, an unhealthy task and an added task change who receives traffic within 1 s', async () => {
    const ids = await running('/t/checked', 2);
    const url = `http://127.0.0.1:${P.checked}/`;
    const receivers = async (n = 8) => [...new Set(await httpTasks(n, url))].sort();
    await waitFor('both tasks receive traffic', async () => (JSON.stringify(await receivers()) === JSON.stringify(ids) ? true : undefined), 10_000);

    const [sick, well] = ids as [string, string];
    await emulator.post(`/tasks/${sick}/health`, { alive: false, check: 0 });
    await waitFor('the unhealthy task to get no traffic', async () => (JSON.stringify(await receivers()) === JSON.stringify([well]) ? true : undefined), 1_000);
    await emulator.post(`/tasks/${sick}/health`, { alive: true, check: 0 });
    await waitFor('the recovered task to get traffic again', async () => (JSON.stringify(await receivers()) === JSON.stringify(ids) ? true : undefined), 1_000);

    await emulator.post(`/tasks/${sick}/kill`, { scale: true });
    await waitFor('the killed task to get no traffic', async () => (JSON.stringify(await receivers()) === JSON.stringify([well]) ? true : undefined), 1_000);

    await emulator.post('/apps/t/checked/scale', { instances: 2 });
    const after = await running('/t/checked', 2);
    await waitFor('the added task to get traffic', async () => (JSON.stringify(await receivers()) === JSON.stringify(after) ? true : undefined), 1_000);
  });
});
