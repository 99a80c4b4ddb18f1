/**
 * Zero dropped requests while Marathon churns the tasks behind a service port, and what a backend
 * that dies without Marathon knowing costs.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { freePorts, http, pacerArgs, taskOf, tcpFirstLine } from './helpers.ts';

interface EmuTask {
  id: string;
  state: string;
  version?: string;
  ipAddresses?: { ipAddress: string }[];
}

let emulator: EmulatorProc;
let pacer: PacerProc;
let webPort: number;
let echoPort: number;
let flakyPort: number;

async function tasks(appId: string): Promise<EmuTask[]> {
  const { body } = await getJson<{ app: { tasks: EmuTask[] } }>(`${emulator.leader}/v2/apps${appId}`);
  return body.app.tasks;
}

async function settled(appId: string, n: number, version?: string): Promise<EmuTask[]> {
  return waitFor(`${appId} to settle at ${n} running tasks`, async () => {
    const ts = await tasks(appId);
    const deployments = (await getJson<unknown[]>(`${emulator.leader}/v2/deployments`)).body;
    const ok = ts.length === n && ts.every((t) => t.state === 'TASK_RUNNING' && (version === undefined || t.version === version)) && deployments.length === 0;
    return ok ? ts : undefined;
  }, 15_000);
}

beforeAll(async () => {
  [webPort, echoPort, flakyPort] = (await freePorts(4)) as [number, number, number];
  const httpPort = (await freePorts(1))[0]!;
  // The emulator's step delay is the gap between TASK_KILLING and the task's death: it stands in for
  // Marathon's kill grace period (taskKillGracePeriodSeconds, 3 s by default), and must exceed
  // pacer's event coalescing window (5 ms, up to 50 ms in a burst). At 5 ms a whole rollout
  // (new task running, old task killing, old task dead) fits in one coalesced batch.
  emulator = await startEmulator(['--keepalive-ms', '1000', '--step-delay-ms', '60']);
  const app = (id: string, port: number, mode: string) => ({
    id,
    instances: 1,
    cmd: 'serve',
    labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: mode },
    portDefinitions: [{ port, protocol: 'tcp' }],
  });
  await emulator.post('/apps', { app: app('/c/web', webPort, 'http'), backend: 'http' });
  await emulator.post('/apps', { app: app('/c/echo', echoPort, 'tcp'), backend: 'tcp' });
  await settled('/c/web', 1);
  pacer = await startPacer(pacerArgs(emulator.leader, httpPort, 0, ['--drain-timeout', '5']));
  await waitFor('pacer to serve /c/web', async () => ((await http(`http://127.0.0.1:${webPort}/`)).status === 200 ? true : undefined), 10_000);
  await waitFor('pacer to serve /c/echo', () => tcpFirstLine(echoPort).then(() => true), 10_000);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

/** Clients at a steady rate until stopped: HTTP keep-alive requests and short TCP connections. */
function clientLoop() {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  const result = { http: 0, tcp: 0, failures: [] as string[], receivers: new Set<string>() };
  let running = true;
  const worker = async (kind: 'http' | 'tcp') => {
    while (running) {
      try {
        if (kind === 'http') {
          const answer = await http(`http://127.0.0.1:${webPort}/`, { dispatcher: agent });
          if (answer.status !== 200) result.failures.push(`http ${answer.status} ${answer.body.trim()}`);
          else result.receivers.add(taskOf(answer));
          result.http++;
        } else {
          const line = await tcpFirstLine(echoPort);
          if (!line.includes('.instance-')) result.failures.push(`tcp: ${line}`);
          result.tcp++;
        }
      } catch (error) {
        result.failures.push(`${kind}: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const workers = [worker('http'), worker('http'), worker('tcp')];
  return {
    result,
    async stop() {
      running = false;
      await Promise.all(workers);
      await agent.close();
      return result;
    },
  };
}

describe('churn', () => {
  it('scaling 1→5→1 and ten redeploys (TASK_KILLING before death) cost zero requests and connections', async () => {
    const loop = clientLoop();
    for (const appId of ['/c/web', '/c/echo']) await emulator.post(`/apps${appId}/scale`, { instances: 5 });
    await settled('/c/web', 5);
    await settled('/c/echo', 5);
    await waitFor('traffic to reach all five web tasks', () => (loop.result.receivers.size >= 5 ? true : undefined), 5_000);
    for (const appId of ['/c/web', '/c/echo']) await emulator.post(`/apps${appId}/scale`, { instances: 1 });
    await settled('/c/web', 1);
    await settled('/c/echo', 1);
    for (let i = 1; i <= 10; i++) {
      for (const appId of ['/c/web', '/c/echo']) {
        const response = await fetch(`${emulator.leader}/v2/apps${appId}?force=true`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ env: { ROUND: String(i) } }),
        });
        expect(response.status).toBe(200);
      }
      await settled('/c/web', 1);
      await settled('/c/echo', 1);
    }
    const result = await loop.stop();
    expect(result.failures).toEqual([]);
    expect(result.http).toBeGreaterThan(200);
    expect(result.tcp).toBeGreaterThan(50);
    expect(result.receivers.size).toBeGreaterThanOrEqual(15);
  }, 60_000);
});

describe('a backend that dies without Marathon knowing', () => {
  const servers: { server: Server; sockets: Set<Socket>; address: string }[] = [];

  afterAll(async () => {
    for (const s of servers) {
      for (const socket of s.sockets) socket.destroy();
      await new Promise<void>((resolve) => s.server.close(() => resolve()));
    }
  });

  it('costs at most the requests in flight to it, is ejected, and traffic continues', async () => {
    await emulator.post('/apps', {
      app: {
        id: '/c/flaky',
        instances: 3,
        cmd: 'serve',
        labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http' },
        container: { type: 'MESOS', portMappings: [{ containerPort: 8080, servicePort: flakyPort, protocol: 'tcp' }] },
        networks: [{ mode: 'container', name: 'overlay' }],
      },
      backend: 'none',
    });
    const ts = await settled('/c/flaky', 3);
    // Our own backends, on the addresses Marathon gave the tasks.
    for (const t of ts) {
      const address = t.ipAddresses?.[0]?.ipAddress ?? '';
      const sockets = new Set<Socket>();
      const server = createServer((req, res) => {
        req.resume();
        res.setHeader('x-emulator-task', address);
        setTimeout(() => res.end(address), 2);
      });
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(8080, address, resolve));
      servers.push({ server, sockets, address });
    }
    const url = `http://127.0.0.1:${flakyPort}/`;
    await waitFor('all three backends to answer', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(taskOf(await http(url)));
      return seen.size === 3 ? true : undefined;
    }, 10_000);

    const concurrency = 4;
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const victim = servers[0]!;
    const receiversAfter = new Set<string>();
    let ejected = false;
    const worker = async () => {
      while (running) {
        // Only requests sent after the ejection say where traffic goes now (one in flight at the
        // moment of death may still be answered by the victim).
        const afterEjection = ejected;
        try {
          const answer = await http(url);
          if (answer.status === 200) {
            ok++;
            if (afterEjection) receiversAfter.add(taskOf(answer));
          } else failures.push(String(answer.status));
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const workers = Array.from({ length: concurrency }, worker);
    await waitFor('some traffic', () => (ok > 50 ? true : undefined));
    // Dies: stops listening and cuts its connections (in-flight requests included).
    victim.server.close();
    for (const socket of victim.sockets) socket.destroy();
    const okAtDeath = ok;
    await waitFor('the dead backend to be ejected', async () =>
      (await metric(pacer.admin, 'pacer_backend_ejections_total', { backend: `${victim.address}:8080` })) >= 1 ? true : undefined,
    );
    ejected = true;
    await waitFor('traffic to continue on the others', () => (ok > okAtDeath + 200 ? true : undefined));
    running = false;
    await Promise.all(workers);
    expect(failures.length).toBeLessThanOrEqual(concurrency);
    expect([...receiversAfter].sort()).toEqual(servers.slice(1).map((s) => s.address).sort());
    expect(await metric(pacer.admin, 'pacer_backend_up', { backend: `${victim.address}:8080` })).toBe(0);
  }, 30_000);
});
