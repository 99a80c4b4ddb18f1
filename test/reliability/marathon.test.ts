/**
 * Marathon faults against real processes (issue #8): the emulator and pacer on loopback, faults
 * injected through the emulator's control API. While each fault holds, a healthy app keeps serving
 * real traffic through its service port and `/routes` keeps listing it; `/ready` stays 200 but says
 * `stale: true`, and `pacer_marathon_stale_seconds` moves. After each fault pacer catches up with a
 * change Marathon made while pacer could not see it, and `stale` turns false again.
 *
 * The healthy app's task is a server this test runs itself (backend `none`, a bridge-mode host
 * port pointing at it), so it keeps answering while the emulator is stopped and restarted.
 *
 * Cases covered elsewhere (not repeated here): a standby's 302, a plain dropped stream, a short
 * 503 window, a leader change, a silent stream, a slow fetch racing the stream, a 10,000-event
 * burst (test/integration/faults.test.ts); a malformed event (test/integration/sync.test.ts).
 */
import { createServer, type Server } from 'node:http';
import { getOnce } from '../proxy/helpers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { freePorts } from '../helpers/ports.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;
let backend: Server;
let emuPort: number;
let backendPort: number;
let healthyPort: number;
let changingPort: number;
let doomedPort: number;
let freshPort: number;
let manyPort: number;
let dupPort: number;
let netPort: number;
let labelsPort: number;

const BACKEND_ANSWER = 'healthy backend\n';

function healthyApp(): object {
  return {
    id: '/rel/healthy',
    instances: 1,
    cmd: 'serve',
    labels: { HAPROXY_GROUP: 'external' },
    container: { type: 'DOCKER', docker: { image: 'pacer/test' }, portMappings: [{ containerPort: 80, hostPort: backendPort, servicePort: healthyPort, protocol: 'tcp', name: 'http' }] },
    networks: [{ mode: 'container/bridge' }],
  };
}

function hostApp(id: string, port: number, instances: number): object {
  return { id, instances, cmd: 'serve', labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [{ port, protocol: 'tcp' }] };
}

async function populate(emu: EmulatorProc, apps: readonly object[]): Promise<void> {
  for (const app of apps) await emu.post('/apps', { app, backend: 'none' });
}

// ---- probes --------------------------------------------------------------------------------------

const get = (port: number) => getOnce(port);

async function routes(): Promise<RoutesView> {
  return (await getJson<RoutesView>(`${pacer.admin}/routes`)).body;
}

function routable(view: RoutesView, port: number): string[] {
  return (view.services.find((s) => s.port === port)?.backends ?? []).filter((b) => b.routable).map((b) => `${b.address}:${b.port}`).sort();
}

interface Ready {
  ready: boolean;
  stale: boolean;
  staleSeconds: number;
  stream: string;
  lastSyncError: string | null;
}

async function ready(): Promise<{ status: number; body: Ready }> {
  return getJson<Ready>(`${pacer.admin}/ready`);
}

/** The healthy app serves real traffic through pacer, and /routes lists it. */
async function servingHealthy(): Promise<void> {
  const answer = await get(healthyPort);
  expect(answer).toEqual({ status: 200, body: BACKEND_ANSWER });
  expect(routable(await routes(), healthyPort)).toEqual([`127.0.0.1:${backendPort}`]);
}

/** Requests through the healthy app's service port, back to back, until stopped; counts failures. */
function trafficLoop(): { stop: () => Promise<{ ok: number; failed: number; errors: string[] }> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const a = await get(healthyPort);
        if (a.status === 200 && a.body === BACKEND_ANSWER) ok++;
        else {
          failed++;
          errors.push(`HTTP ${a.status}`);
        }
      } catch (error) {
        failed++;
        errors.push(String(error));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failed, errors: errors.slice(0, 5) };
    },
  };
}

/** While the fault holds: stale, with the metric moving, /ready still 200, the healthy app serving. */
async function staleButServing(): Promise<void> {
  await waitFor('/ready to say stale', async () => ((await ready()).body.stale ? true : undefined), 10_000);
  // At least 0.1 s: /ready rounds to tenths, so a later /ready of the same outage shows more than 0.
  await waitFor('pacer_marathon_stale_seconds to move', async () => ((await metric(pacer.admin, 'pacer_marathon_stale_seconds')) >= 0.1 ? true : undefined), 5_000);
  const r = await ready();
  expect(r.status).toBe(200);
  expect(r.body.ready).toBe(true);
  expect(r.body.stale).toBe(true);
  expect(r.body.staleSeconds).toBeGreaterThan(0);
  await servingHealthy();
}

/** After recovery: current again (stale false, metric 0). */
async function currentAgain(within = 20_000): Promise<void> {
  await waitFor('/ready to say current', async () => {
    const r = await ready();
    return !r.body.stale && r.body.staleSeconds === 0 && r.body.stream === 'connected' ? true : undefined;
  }, within);
  await waitFor('pacer_marathon_stale_seconds back to 0', async () => ((await metric(pacer.admin, 'pacer_marathon_stale_seconds')) === 0 ? true : undefined), 3_000);
}

async function marathonTasks(appId: string): Promise<{ id: string; state: string; ports: number[]; host: string }[]> {
  const state = (await emulator.get('/state')) as { apps: { id: string; tasks: { id: string; state: string; ports: number[]; host: string; listed: boolean }[] }[] };
  return (state.apps.find((a) => a.id === appId)?.tasks ?? []).filter((t) => t.listed);
}

/** Scale an app in Marathon and wait until Marathon runs exactly `n` tasks of it; returns their endpoints. */
async function scale(appId: string, n: number): Promise<string[]> {
  await emulator.post(`/apps${appId}/scale`, { instances: n });
  return waitFor(`${n} running tasks of ${appId}`, async () => {
    const running = (await marathonTasks(appId)).filter((t) => t.state === 'TASK_RUNNING');
    return running.length === n && (await marathonTasks(appId)).length === n ? running.map((t) => `${t.host}:${t.ports[0]}`).sort() : undefined;
  });
}

function pacerRoutes(port: number, expected: readonly string[], within: number, what: string): Promise<true> {
  return waitFor(what, async () => (JSON.stringify(routable(await routes(), port)) === JSON.stringify([...expected].sort()) ? true : undefined), within);
}

async function resyncsOk(): Promise<number> {
  return metric(pacer.admin, 'pacer_marathon_resyncs_total', { result: 'ok' });
}

/**
 * The first successful resync after the fault ends brings pacer exactly up to date: wait for it,
 * then the table must already show `expected`.
 */
async function caughtUpByOneResync(before: number, port: number, expected: readonly string[]): Promise<void> {
  await waitFor('a successful resync after the fault', async () => ((await resyncsOk()) > before ? true : undefined), 20_000);
  await pacerRoutes(port, expected, 1_000, 'the change made during the fault, right after that resync');
}

/**
 * Let the current stream deliver an event before the next fault. pacer's reconnect backoff starts
 * over only after a stream that delivered an event or held 2 s (a leader that accepts and closes at
 * once is not hammered); without this, faults injected back to back look like such a leader and
 * the backoff grows from test to test.
 */
async function streamDelivered(): Promise<void> {
  const seen = await metric(pacer.admin, 'pacer_marathon_events_total', { type: 'deployment_success' });
  await emulator.post('/events', { eventType: 'deployment_success', id: 'noop', plan: { id: 'noop', steps: [], version: '2021-09-20T10:15:02.117Z' }, timestamp: new Date().toISOString() });
  await waitFor('an event on the stream', async () => ((await metric(pacer.admin, 'pacer_marathon_events_total', { type: 'deployment_success' })) > seen ? true : undefined));
}

async function clearFaults(): Promise<void> {
  await fetch(`${emulator.control}/faults`, { method: 'DELETE' });
}

// ---- set-up --------------------------------------------------------------------------------------

beforeAll(async () => {
  [emuPort, backendPort, healthyPort, changingPort, doomedPort, freshPort, manyPort, dupPort, netPort, labelsPort] = (await freePorts(10)) as [number, number, number, number, number, number, number, number, number, number];
  backend = createServer((_req, res) => res.end(BACKEND_ANSWER));
  await new Promise<void>((resolve) => backend.listen(backendPort, '127.0.0.1', resolve));
  emulator = await startEmulator(['--port', String(emuPort), '--keepalive-ms', '300']);
  await populate(emulator, [healthyApp(), hostApp('/rel/changing', changingPort, 1), hostApp('/rel/doomed', doomedPort, 1)]);
  await waitFor('the apps to run', async () => ((await marathonTasks('/rel/doomed')).some((t) => t.state === 'TASK_RUNNING') ? true : undefined));
  pacer = await startPacer([
    '--marathon', `http://127.0.0.1:${emuPort}`,
    '--marathon-timeout', '1',
    '--stream-idle-timeout', '3',
    '--resync-interval', '300',
  ]);
  await waitFor('the healthy app routed', async () => (routable(await routes(), healthyPort).length === 1 ? true : undefined), 10_000);
  await currentAgain(10_000);
});

afterAll(async () => {
  if (pacer && pacer.child.signalCode === null) pacer.child.kill('SIGCONT');
  await pacer?.stop();
  await emulator?.stop();
  await new Promise((resolve) => backend?.close(resolve));
});

// ---- the faults ----------------------------------------------------------------------------------

describe('Marathon faults, while a healthy app keeps serving', () => {
  it('is current and serving to begin with', async () => {
    const r = await ready();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ready: true, stale: false, staleSeconds: 0, stream: 'connected' });
    await servingHealthy();
  });

  it('a stream dropped in the middle of an event: the half event is not applied', async () => {
    await streamDelivered();
    const task = (await marathonTasks('/rel/healthy'))[0]!;
    const malformed = await metric(pacer.admin, 'pacer_marathon_events_malformed_total');
    const received = await metric(pacer.admin, 'pacer_marathon_events_total');
    // A complete `data:` line that would kill the healthy task, but not the blank line that ends
    // the event: per SSE, an event cut off by the end of the stream is discarded.
    const kill = JSON.stringify({
      slaveId: 'agent-S0', taskId: task.id, taskStatus: 'TASK_KILLED', message: '', appId: '/rel/healthy', host: task.host,
      ipAddresses: [], ports: task.ports, version: '2021-09-20T10:15:02.117Z', eventType: 'status_update_event', timestamp: new Date().toISOString(),
    });
    // Marathon stays unreachable meanwhile, so no resync can paper over a wrongly applied half event.
    await emulator.post('/faults', { kind: 'http-error', status: 503 });
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    await emulator.post('/raw', `event: status_update_event\r\ndata: ${kill}\r\n`);
    await emulator.post('/faults', { kind: 'drop-streams' });
    await staleButServing();
    const changed = await scale('/rel/changing', 2);
    const resyncs = await resyncsOk();
    // The stream's end has been handled (a half event wrongly dispatched would be counted by then).
    await waitFor('pacer to handle the end of the cut stream', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects ? true : undefined, 10_000);
    await servingHealthy();
    expect(await metric(pacer.admin, 'pacer_marathon_events_total')).toBe(received);
    expect(await metric(pacer.admin, 'pacer_marathon_events_malformed_total')).toBe(malformed);
    await clearFaults();
    await caughtUpByOneResync(resyncs, changingPort, changed);
    await currentAgain();
    await servingHealthy();
  });

  it('Marathon restarting: traffic flows while it is down, then pacer converges on the new set of apps', async () => {
    const traffic = trafficLoop();
    await emulator.stop();
    await staleButServing();
    const down = await ready();
    expect(down.body.stream).not.toBe('connected');
    // Marathon comes back on the same port with a changed set of apps: /rel/doomed is gone,
    // /rel/fresh is new, /rel/changing runs 3 tasks, /rel/healthy the same definition.
    emulator = await startEmulator(['--port', String(emuPort), '--keepalive-ms', '300']);
    await populate(emulator, [healthyApp(), hostApp('/rel/changing', changingPort, 3), hostApp('/rel/fresh', freshPort, 1)]);
    const changing = await scale('/rel/changing', 3);
    await pacerRoutes(changingPort, changing, 20_000, 'pacer to see the restarted Marathon');
    await waitFor('/rel/doomed gone and /rel/fresh routed', async () => {
      const view = await routes();
      return routable(view, doomedPort).length === 0 && routable(view, freshPort).length === 1 ? true : undefined;
    }, 5_000);
    await currentAgain();
    const result = await traffic.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
    expect(result.ok).toBeGreaterThan(5);
    await servingHealthy();
  });

  it('every Marathon request answering 5xx for 5 s: zero failed requests, then one resync catches up', async () => {
    await streamDelivered();
    const traffic = trafficLoop();
    const before = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'status' });
    const started = Date.now();
    await emulator.post('/faults', { kind: 'http-error', status: 500 });
    await emulator.post('/faults', { kind: 'drop-streams' });
    await staleButServing();
    await waitFor('a refused reconnect', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'status' })) > before ? true : undefined), 5_000);
    // Every 5xx in turn while it holds.
    for (const status of [502, 503, 504]) {
      await emulator.post('/faults', { kind: 'http-error', status });
      await servingHealthy();
      expect((await ready()).body.stale).toBe(true);
    }
    const changed = await scale('/rel/changing', 2);
    const resyncs = await resyncsOk();
    // Hold the outage for 5 s in all.
    await waitFor('5 s of outage', () => (Date.now() - started >= 5_000 ? true : undefined), 10_000, 100);
    await servingHealthy();
    expect(await resyncsOk()).toBe(resyncs);
    await clearFaults();
    await caughtUpByOneResync(resyncs, changingPort, changed);
    await currentAgain();
    const result = await traffic.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
  });

  it('responses slower than --marathon-timeout: counted as timeouts, the last good table serves, then catch-up', async () => {
    await streamDelivered();
    const timeouts = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'timeout' });
    // 2.5 s per response against a 1 s timeout: the stream cannot (re)connect.
    await emulator.post('/faults', { kind: 'slow', delayMs: 2_500 });
    await emulator.post('/faults', { kind: 'drop-streams' });
    await staleButServing();
    await waitFor('a reconnect that timed out', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'timeout' })) > timeouts ? true : undefined), 20_000);
    const changed = await scale('/rel/changing', 1);
    const resyncs = await resyncsOk();
    await servingHealthy();
    await clearFaults();
    await caughtUpByOneResync(resyncs, changingPort, changed);
    await currentAgain();
  });

  it('a leader change while a burst of events is in flight: reconnects to the new leader, ends exact', async () => {
    await streamDelivered();
    await clearFaults();
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const traffic = trafficLoop();
    const received = await metric(pacer.admin, 'pacer_marathon_events_total');
    const burst = emulator.post('/burst', { appId: '/rel/changing', count: 5_000, kind: 'mixed' });
    await waitFor('the burst to be under way', async () => ((await metric(pacer.admin, 'pacer_marathon_events_total')) > received + 100 ? true : undefined), 10_000, 5);
    await emulator.post('/faults', { kind: 'leader-change' });
    const inFlight = (await metric(pacer.admin, 'pacer_marathon_events_total')) - received;
    console.log(`leader change after ${inFlight} of the burst's 5,000 events had arrived`);
    const changed = await scale('/rel/changing', 3);
    await burst;
    await waitFor('the stream on the new leader', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects && (await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined,
      10_000,
    );
    await pacerRoutes(changingPort, changed, 10_000, 'the exact table after the leader change');
    await currentAgain();
    const result = await traffic.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
  });

  it('the 1024-event back-pressure cut: a pacer that stops reading is cut off, reconnects, resyncs, ends exact', async () => {
    await streamDelivered();
    const cutBefore = ((await emulator.get('/state')) as { slowConsumerDisconnects: number }).slowConsumerDisconnects;
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    // pacer stops reading (as a process starved of CPU would); Marathon keeps writing events.
    pacer.child.kill('SIGSTOP');
    let cut = false;
    try {
      for (let round = 0; round < 60 && !cut; round++) {
        await emulator.post('/burst', { appId: '/rel/changing', count: 1_000, kind: 'status' });
        cut = ((await emulator.get('/state')) as { slowConsumerDisconnects: number }).slowConsumerDisconnects > cutBefore;
      }
    } finally {
      // A change whose events are lost with the cut stream.
      pacer.child.kill('SIGCONT');
    }
    expect(cut, 'the emulator cut the stream of the reader that stopped').toBe(true);
    const changed = await scale('/rel/changing', 2);
    await waitFor('a reconnect', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects ? true : undefined), 10_000);
    await pacerRoutes(changingPort, changed, 10_000, 'the exact table after the cut');
    await currentAgain();
    await servingHealthy();
  });

  it('truncated JSON in /v2/apps: the last good table serves, the error is counted and shown by /ready', async () => {
    await streamDelivered();
    const jsonErrors = await metric(pacer.admin, 'pacer_marathon_request_errors_total', { reason: 'json' });
    await emulator.post('/faults', { kind: 'bad-json' });
    await emulator.post('/faults', { kind: 'drop-streams' });
    // The stream reconnects (events are not faulted); the resync after it reads half a document.
    await waitFor('the bad body to be counted', async () => ((await metric(pacer.admin, 'pacer_marathon_request_errors_total', { reason: 'json' })) > jsonErrors ? true : undefined), 10_000);
    await staleButServing();
    const r = await ready();
    expect(r.status).toBe(200);
    expect(r.body.lastSyncError).toMatch(/the document ends early at byte/);
    const changed = await scale('/rel/changing', 2);
    await servingHealthy();
    await clearFaults();
    await pacerRoutes(changingPort, changed, 15_000, 'the table once /v2/apps is whole again');
    await currentAgain();
    expect((await ready()).body.lastSyncError).toBeNull();
  });

  it('absurd apps (ports out of range, 10,000 tasks, unknown networking mode, duplicate service ports, 1 MB labels, deep nesting): warned by name, the rest serves, memory bounded', async () => {
    const rssBefore = await metric(pacer.admin, 'process_resident_memory_bytes');
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const mb = 'x'.repeat(1024 * 1024);
    // 1 MB of distinct host names (deduplicating them used to be quadratic: ~20 s of blocked event loop per table build).
    const vhosts = Array.from({ length: 120_000 }, (_, i) => `h${i}.absurd.local`).join(',');
    const many = Array.from({ length: 10_000 }, (_, i) => `{"id":"absurd_many.instance-${i}._app.1","appId":"/absurd/many","state":"TASK_RUNNING","host":"127.0.0.1","ports":[${40_000 + (i % 20_000)}],"version":"v1"}`);
    const absurd = [
      `{"id":"/absurd/ports","labels":{"HAPROXY_GROUP":"external"},"portDefinitions":[{"port":70000},{"port":-1}],"tasks":[{"id":"absurd_ports.instance-1._app.1","state":"TASK_RUNNING","host":"127.0.0.1","ports":[70000,-1]}]}`,
      `{"id":"/absurd/many","version":"v1","instances":10000,"labels":{"HAPROXY_GROUP":"external"},"portDefinitions":[{"port":${manyPort}}],"tasks":[${many.join(',')}]}`,
      `{"id":"/absurd/net","labels":{"HAPROXY_GROUP":"external"},"networks":[{"mode":"warp-drive"}],"portDefinitions":[{"port":${netPort}}]}`,
      `{"id":"/absurd/dup-a","labels":{"HAPROXY_GROUP":"external"},"portDefinitions":[{"port":${dupPort}}]}`,
      `{"id":"/absurd/dup-b","labels":{"HAPROXY_GROUP":"external"},"portDefinitions":[{"port":${dupPort}}]}`,
      `{"id":"/absurd/labels","labels":{"HAPROXY_GROUP":"external","HAPROXY_0_VHOST":"${vhosts}","HAPROXY_0_PATH":"${mb}","BIG":"${mb}","HAPROXY_0_BACKEND_WEIGHT":"${mb}"},"portDefinitions":[{"port":${labelsPort}}]}`,
      `{"id":"/absurd/deep","labels":${deep},"portDefinitions":${deep},"healthChecks":${deep},"tasks":${deep}}`,
    ];
    for (const text of absurd) await emulator.post('/raw-apps', text);
    const resyncs = await resyncsOk();
    await streamDelivered();
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('a resync with the absurd apps', async () => ((await resyncsOk()) > resyncs ? true : undefined), 20_000, 100);
    // (Polled gently: /routes is megabytes now.)
    await waitFor('/absurd/many routed', async () => (routable(await routes(), manyPort).length === 10_000 ? true : undefined), 20_000, 300);
    expect(pacer.child.exitCode).toBeNull();
    await servingHealthy();
    await currentAgain();
    // Each is warned about by name (the 10,000-task app is fine: it has no problems).
    for (const id of ['/absurd/ports', '/absurd/net', '/absurd/labels', '/absurd/deep']) {
      await waitFor(`a warning naming ${id}`, () => pacer.output().split('\n').find((l) => l.includes('"level":"warn"') && l.includes(`"app":"${id}"`)));
    }
    // No warning repeats a megabyte (or 10,000 tasks' worth of problems).
    const warnings = pacer.output().split('\n').filter((l) => l.includes('"level":"warn"'));
    const longest = warnings.reduce((a, l) => (l.length > a.length ? l : a), '');
    expect(longest.length, longest.slice(0, 300)).toBeLessThan(16 * 1024);
    // Resync again: still serving, the warnings not repeated, memory bounded.
    const warned = pacer.output().split('"msg":"app definition problems"').length;
    const again = await resyncsOk();
    await streamDelivered();
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('another resync', async () => ((await resyncsOk()) > again ? true : undefined), 20_000, 100);
    await servingHealthy();
    expect(pacer.output().split('"msg":"app definition problems"').length).toBe(warned);
    const rssAfter = await metric(pacer.admin, 'process_resident_memory_bytes');
    console.log(`absurd apps: RSS ${Math.round(rssBefore / 2 ** 20)} MB before, ${Math.round(rssAfter / 2 ** 20)} MB after 2 resyncs with them`);
    expect(rssAfter - rssBefore).toBeLessThan(400 * 2 ** 20);
    await servingHealthy();
  }, 45_000);

  it('a new app claiming the healthy app\'s service port (duplicate service ports) does not take its traffic', async () => {
    const traffic = trafficLoop();
    // Its id sorts before /rel/healthy; its one task points nowhere useful.
    await emulator.post('/raw-apps', `{"id":"/aaa/intruder","labels":{"HAPROXY_GROUP":"external"},"portDefinitions":[{"port":${healthyPort}}],"tasks":[{"id":"aaa_intruder.instance-1._app.1","state":"TASK_RUNNING","host":"127.0.0.1","ports":[${dupPort}]}]}`);
    const n = await resyncsOk();
    await streamDelivered();
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('a resync with the intruder', async () => ((await resyncsOk()) > n ? true : undefined), 20_000, 100);
    await waitFor('the clash reported', async () => {
      const { body } = await getJson<{ problems: { kind: string; services: string[] }[] }>(`${pacer.admin}/proxy/listeners`);
      return body.problems.some((p) => p.kind === 'clash' && p.services.includes('/aaa/intruder:0')) ? true : undefined;
    });
    for (let i = 0; i < 5; i++) expect(await get(healthyPort)).toEqual({ status: 200, body: BACKEND_ANSWER });
    const result = await traffic.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
  });

  it('the absurd apps leaving (10,000 backends retired at once): every other service keeps serving', async () => {
    const traffic = trafficLoop();
    await fetch(`${emulator.control}/raw-apps`, { method: 'DELETE' });
    const n = await resyncsOk();
    await streamDelivered();
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('the absurd apps gone', async () => ((await resyncsOk()) > n && routable(await routes(), manyPort).length === 0 ? true : undefined), 20_000, 300);
    await servingHealthy();
    const result = await traffic.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
  }, 30_000);
});
