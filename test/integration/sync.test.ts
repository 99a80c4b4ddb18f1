/**
 * pacer and the Marathon emulator as separate processes on loopback: pacer's view of the cluster
 * (`/routes`) follows the emulator through scaling, kills, health changes and faults.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

interface MarathonTask {
  id: string;
  state: string;
}

let emulator: EmulatorProc;
let pacer: PacerProc;

async function routes(): Promise<RoutesView> {
  return (await getJson<RoutesView>(`${pacer.admin}/routes`)).body;
}

async function marathonTasks(appId: string): Promise<MarathonTask[]> {
  const { body } = await getJson<{ app: { tasks: MarathonTask[] } }>(`${emulator.leader}/v2/apps${appId}`);
  return body.app.tasks;
}

/** Task ids pacer would route new traffic to, for the service on `port`. */
async function routableTasks(port: number): Promise<string[]> {
  const service = (await routes()).services.find((s) => s.port === port);
  return (service?.backends ?? []).filter((b) => b.routable).map((b) => b.task).sort();
}

async function runningTaskIds(appId: string): Promise<string[]> {
  return (await marathonTasks(appId)).filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id).sort();
}

/** Wait until the emulator has `n` running tasks for the app, and return their ids. */
function emulatorRunning(appId: string, n: number): Promise<string[]> {
  return waitFor(`${n} running tasks of ${appId} in the emulator`, async () => {
    const ids = await runningTaskIds(appId);
    return ids.length === n ? ids : undefined;
  });
}

/** Once Marathon shows a change, pacer must show it within a second. */
function pacerShows(port: number, expected: readonly string[], within = 1_000): Promise<string[]> {
  return waitFor(
    `pacer to route exactly ${expected.length} tasks on :${port}`,
    async () => {
      const ids = await routableTasks(port);
      return JSON.stringify(ids) === JSON.stringify([...expected].sort()) ? ids : undefined;
    },
    within,
  );
}

const WEB = {
  id: '/it/web',
  instances: 2,
  cmd: 'serve',
  labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.it.local' },
  portDefinitions: [{ port: 11001, protocol: 'tcp', name: 'http' }],
};

const CHECKED = {
  id: '/it/checked',
  instances: 2,
  cmd: 'serve',
  labels: { HAPROXY_GROUP: 'external' },
  portDefinitions: [{ port: 11002, protocol: 'tcp', name: 'http' }],
  healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 1 }],
};

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: WEB, backend: 'http' });
  await emulator.post('/apps', { app: CHECKED, backend: 'http', autoHealthy: true });
  await emulatorRunning('/it/web', 2);
  pacer = await startPacer(['--marathon', emulator.leader, '--stream-idle-timeout', '5', '--resync-interval', '300']);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

describe('pacer against the emulator', () => {
  it('becomes ready after the first sync and serves the table', async () => {
    await waitFor('/ready to answer 200', async () => ((await fetch(`${pacer.admin}/ready`)).status === 200 ? true : undefined));
    const expected = await runningTaskIds('/it/web');
    await pacerShows(11001, expected);
    const service = (await routes()).services.find((s) => s.port === 11001);
    expect(service).toMatchObject({ mode: 'http', app: '/it/web', vhosts: ['web.it.local'] });
    expect(await metric(pacer.admin, 'pacer_marathon_stream_connected')).toBe(1);
  });

  it('routes a scaled-up task within 1 s of Marathon running it', async () => {
    const response = await fetch(`${emulator.leader}/v2/apps/it/web`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 3 }),
    });
    expect(response.status).toBe(200);
    const ids = await emulatorRunning('/it/web', 3);
    await pacerShows(11001, ids);
  });

  it('drops a killed task within 1 s', async () => {
    const [victim, ...rest] = await runningTaskIds('/it/web');
    const response = await fetch(`${emulator.leader}/v2/apps/it/web/tasks/${victim}?scale=true`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    await waitFor('the emulator to kill the task', async () => ((await runningTaskIds('/it/web')).includes(victim!) ? undefined : true));
    await pacerShows(11001, rest);
    // The log says which app, service port and backend the change concerned.
    const line = await waitFor('a log line for the change', () =>
      pacer
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"service changed"') && l.includes('"servicePort":11001') && l.includes('"backendsOut":["127.0.0.1:')),
    );
    expect(JSON.parse(line)).toMatchObject({ app: '/it/web', servicePort: 11001, mode: 'http' });
  });

  it('drops a task that turns unhealthy within 1 s, and takes it back when it recovers', async () => {
    const ids = await emulatorRunning('/it/checked', 2);
    await pacerShows(11002, ids, 5_000); // the first health results come with the emulator's checks
    const [sick, well] = ids as [string, string];
    await emulator.post(`/tasks/${sick}/health`, { alive: false, check: 0 });
    await pacerShows(11002, [well]);
    const backend = (await routes()).services.find((s) => s.port === 11002)?.backends.find((b) => b.task === sick);
    expect(backend).toMatchObject({ health: 'unhealthy', routable: false });
    await emulator.post(`/tasks/${sick}/health`, { alive: true, check: 0 });
    await pacerShows(11002, ids);
  });

  it('stops routing a killing task at once and shows it draining', async () => {
    const ids = await runningTaskIds('/it/checked');
    const [killing, other] = ids as [string, string];
    await emulator.post(`/tasks/${killing}/state`, { state: 'TASK_KILLING' });
    await pacerShows(11002, [other]);
    const backend = (await routes()).services.find((s) => s.port === 11002)?.backends.find((b) => b.task === killing);
    expect(backend).toMatchObject({ draining: true, routable: false });
  });

  it('counts and skips a malformed event, and keeps applying the next ones', async () => {
    const before = await metric(pacer.admin, 'pacer_marathon_events_malformed_total');
    await emulator.post('/raw', 'event: status_update_event\r\ndata: {"taskId": "truncated\r\n\r\n');
    await waitFor('the malformed event to be counted', async () =>
      (await metric(pacer.admin, 'pacer_marathon_events_malformed_total')) === before + 1 ? true : undefined,
    );
    const [victim, ...rest] = await runningTaskIds('/it/web');
    await fetch(`${emulator.leader}/v2/apps/it/web/tasks/${victim}?scale=true`, { method: 'DELETE' });
    await waitFor('the emulator to kill the task', async () => ((await runningTaskIds('/it/web')).includes(victim!) ? undefined : true));
    await pacerShows(11001, rest);
    expect(await metric(pacer.admin, 'pacer_marathon_stream_connected')).toBe(1);
  });
});
