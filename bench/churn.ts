/**
 * Churn (the approach of test/proxy/churn.test.ts): steady HTTP keep-alive and short TCP
 * connections through pacer while the emulator scales the apps 1 → 5 → 1 and redeploys them
 * (TASK_KILLING before death; `--step-delay-ms 60` stands in for the kill grace period). Every
 * failed request or connection is counted.
 */
import { Agent, request } from 'node:http';
import { getJson, startEmulator, startPacer, waitFor, type EmulatorProc } from '../test/helpers/processes.ts';
import { freePorts, pacerArgs, tcpFirstLine } from '../test/proxy/helpers.ts';
import { log, sleep, started } from './lib.ts';
import type { Row } from './table.ts';

export interface ChurnOptions {
  readonly redeploys: number;
}

async function settled(emulator: EmulatorProc, appId: string, n: number): Promise<void> {
  await waitFor(`${appId} to settle at ${n} running tasks`, async () => {
    const { body } = await getJson<{ app: { tasks: { state: string }[] } }>(`${emulator.leader}/v2/apps${appId}`);
    const deployments = (await getJson<unknown[]>(`${emulator.leader}/v2/deployments`)).body;
    return body.app.tasks.length === n && body.app.tasks.every((t) => t.state === 'TASK_RUNNING') && deployments.length === 0 ? true : undefined;
  }, 20_000, 20);
}

function httpGet(port: number, agent: Agent): Promise<{ status: number; task: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, task: String(res.headers['x-emulator-task'] ?? '') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function churnBench(o: ChurnOptions): Promise<Row[]> {
  const [webPort, echoPort, httpPort] = (await freePorts(3)) as [number, number, number];
  const emulator = await startEmulator(['--keepalive-ms', '1000', '--step-delay-ms', '60']);
  started.push(emulator);
  const app = (id: string, port: number, mode: string) => ({ id, instances: 1, cmd: 'serve', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: mode }, portDefinitions: [{ port, protocol: 'tcp' }] });
  await emulator.post('/apps', { app: app('/churn/web', webPort, 'http'), backend: 'http' });
  await emulator.post('/apps', { app: app('/churn/echo', echoPort, 'tcp'), backend: 'tcp' });
  await settled(emulator, '/churn/web', 1);
  await settled(emulator, '/churn/echo', 1);
  const pacer = await startPacer(pacerArgs(emulator.leader, httpPort, 0, ['--drain-timeout', '5']));
  started.push(pacer);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  await waitFor('pacer to serve /churn/web', async () => ((await httpGet(webPort, agent)).status === 200 ? true : undefined), 15_000, 50);
  await waitFor('pacer to serve /churn/echo', () => tcpFirstLine(echoPort).then(() => true), 15_000, 50);

  const result = { http: 0, tcp: 0, failures: [] as string[], receivers: new Set<string>() };
  let running = true;
  const worker = async (kind: 'http' | 'tcp') => {
    while (running) {
      try {
        if (kind === 'http') {
          const answer = await httpGet(webPort, agent);
          if (answer.status !== 200) result.failures.push(`http ${answer.status}`);
          else result.receivers.add(answer.task);
          result.http++;
        } else {
          const line = await tcpFirstLine(echoPort);
          if (!line.includes('.instance-')) result.failures.push(`tcp: ${line}`);
          result.tcp++;
        }
      } catch (error) {
        result.failures.push(`${kind}: ${String(error)}`);
      }
      if (kind === 'tcp') await sleep(2);
    }
  };
  const workers = [worker('http'), worker('http'), worker('http'), worker('http'), worker('tcp'), worker('tcp')];
  const t0 = performance.now();
  try {
    for (const id of ['/churn/web', '/churn/echo']) await emulator.post(`/apps${id}/scale`, { instances: 5 });
    await settled(emulator, '/churn/web', 5);
    await settled(emulator, '/churn/echo', 5);
    await sleep(300);
    for (const id of ['/churn/web', '/churn/echo']) await emulator.post(`/apps${id}/scale`, { instances: 1 });
    await settled(emulator, '/churn/web', 1);
    await settled(emulator, '/churn/echo', 1);
    for (let i = 1; i <= o.redeploys; i++) {
      for (const id of ['/churn/web', '/churn/echo']) {
        const response = await fetch(`${emulator.leader}/v2/apps${id}?force=true`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ env: { ROUND: String(i) } }) });
        await response.arrayBuffer();
      }
      await settled(emulator, '/churn/web', 1);
      await settled(emulator, '/churn/echo', 1);
    }
  } finally {
    running = false;
    await Promise.all(workers);
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`churn: ${result.http} HTTP requests, ${result.tcp} TCP connections in ${seconds.toFixed(1)} s, ${result.receivers.size} web tasks answered, ${result.failures.length} failures ${result.failures.slice(0, 3).join('; ')}`);
  return [
    {
      bench: 'churn: steady load while apps scale and redeploy, failed requests',
      summary: 'runs',
      unit: 'failures',
      pacer: [result.failures.length],
      target: { kind: 'at-most', stat: 'max', max: 0 },
      command: 'npm run bench -- churn',
      note: `scale 1→5→1 and ${o.redeploys} redeploys of an HTTP and a TCP app in ${seconds.toFixed(0)} s: ${result.http.toLocaleString('en-US')} keep-alive HTTP requests (4 loops) and ${result.tcp.toLocaleString('en-US')} TCP connections (2 loops), ${result.receivers.size} tasks answered${result.failures.length ? `; first failures: ${result.failures.slice(0, 3).join('; ')}` : ''}`,
    },
  ];
}
