/**
 * `--workers 2`: both worker processes serve traffic (SO_REUSEPORT spreads connections), a table
 * change reaches both within 1 s, and the primary's /metrics counts the requests of both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { freePorts, http, pacerArgs } from './helpers.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;
let webPort: number;
let newPort: number;

function app(id: string, port: number, instances: number) {
  return { id, instances, cmd: 'serve', labels: { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http' }, portDefinitions: [{ port, protocol: 'tcp' }] };
}

/** Which pacer process answered, on a fresh connection each time. */
async function pidOf(port: number): Promise<string | undefined> {
  const answer = await http(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return answer.status === 200 ? String(answer.headers['x-pacer-pid']) : undefined;
}

/** Fresh connections until both workers answered; resolves with their pids. */
async function bothWorkers(port: number, timeoutMs: number): Promise<Set<string>> {
  const pids = new Set<string>();
  return waitFor(`both workers to answer on :${port}`, async () => {
    const pid = await pidOf(port);
    if (pid) pids.add(pid);
    return pids.size >= 2 ? pids : undefined;
  }, timeoutMs, 1);
}

async function running(appId: string, n: number): Promise<void> {
  await waitFor(`${n} running tasks of ${appId}`, async () => {
    const { body } = await getJson<{ app: { tasks: { state: string }[] } }>(`${emulator.leader}/v2/apps${appId}`);
    return body.app.tasks.filter((t) => t.state === 'TASK_RUNNING').length === n ? true : undefined;
  }, 10_000, 10);
}

beforeAll(async () => {
  const [httpPort, a, b] = await freePorts(3);
  webPort = a!;
  newPort = b!;
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: app('/w/web', webPort, 2), backend: 'http' });
  await running('/w/web', 2);
  pacer = await startPacer(pacerArgs(emulator.leader, httpPort!, 0, ['--workers', '2']), { PACER_TEST_WORKER_HEADER: '1' });
  await waitFor('pacer to route /w/web', () => pidOf(webPort), 10_000);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

describe('--workers 2', () => {
  it('serves from both worker processes, none of them the primary', async () => {
    const pids = await bothWorkers(webPort, 5_000);
    expect(pids.size).toBe(2);
    expect(pids.has(String(pacer.child.pid))).toBe(false);
  });

  it('brings a table change to both workers within 1 s', async () => {
    await emulator.post('/apps', { app: app('/w/new', newPort, 1), backend: 'http' });
    await running('/w/new', 1);
    const started = Date.now();
    await bothWorkers(newPort, 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("counts every worker's requests in the primary's /metrics", async () => {
    const before = await metric(pacer.admin, 'pacer_service_requests_total', { service: '/w/web:0' });
    const n = 20;
    for (let i = 0; i < n; i++) expect(await pidOf(webPort)).toBeDefined();
    const after = await metric(pacer.admin, 'pacer_service_requests_total', { service: '/w/web:0' });
    expect(after - before).toBe(n);
    expect(await metric(pacer.admin, 'pacer_backend_up', { service: '/w/web:0' })).toBe(2);
    const { body } = await getJson<{ listeners: { listener: string }[]; workers: number }>(`${pacer.admin}/proxy/listeners`);
    expect(body.workers).toBe(2);
    expect(body.listeners.some((l) => l.listener.endsWith(`:${webPort}`))).toBe(true);
  });
});
