/**
 * Marathon faults, injected through the emulator's control API: pacer keeps serving the last good
 * table while Marathon misbehaves, and catches up once it recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

let emulator: EmulatorProc;
let pacer: PacerProc;

const APP = {
  id: '/faults/api',
  instances: 2,
  cmd: 'serve',
  labels: { HAPROXY_GROUP: 'external' },
  portDefinitions: [{ port: 12001, protocol: 'tcp' }],
};

async function routable(): Promise<string[]> {
  const { body } = await getJson<RoutesView>(`${pacer.admin}/routes`);
  const service = body.services.find((s) => s.port === 12001);
  return (service?.backends ?? []).filter((b) => b.routable).map((b) => b.task).sort();
}

async function tasksViaMarathon(): Promise<string[]> {
  const { body } = await getJson<{ app: { tasks: { id: string; state: string }[] } }>(`${emulator.leader}/v2/apps${APP.id}`);
  return body.app.tasks.filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id).sort();
}

function caughtUp(expected: readonly string[], within: number, what: string): Promise<true> {
  return waitFor(what, async () => (JSON.stringify(await routable()) === JSON.stringify([...expected].sort()) ? true : undefined), within);
}

async function scale(instances: number): Promise<string[]> {
  const r = await fetch(`${emulator.leader}/v2/apps${APP.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  expect(r.status).toBe(200);
  return waitFor(`${instances} running tasks`, async () => {
    const ids = await tasksViaMarathon();
    return ids.length === instances ? ids : undefined;
  });
}

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '500']);
  await emulator.post('/apps', { app: APP, backend: 'tcp' });
  await waitFor('2 running tasks', async () => ((await tasksViaMarathon()).length === 2 ? true : undefined));
  // pacer is given the standby first: its event stream must follow the standby's 302 to the leader.
  pacer = await startPacer(['--marathon', `${emulator.standby},${emulator.leader}`, '--stream-idle-timeout', '3']);
  await caughtUp(await tasksViaMarathon(), 5_000, 'the first sync');
  await waitFor('the event stream', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined));
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

describe('Marathon faults', () => {
  it('follows a standby\'s 302 to the leader for the event stream', async () => {
    expect(await metric(pacer.admin, 'pacer_marathon_stream_connected')).toBe(1);
    const ids = await scale(3);
    await caughtUp(ids, 1_000, 'the scaled-up task through the redirected stream');
  });

  it('survives a dropped stream: reconnects, resyncs, and catches up', async () => {
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const resyncs = await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' });
    await emulator.post('/faults', { kind: 'drop-streams' });
    await waitFor('a reconnect and a resync', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects &&
      (await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' })) > resyncs
        ? true
        : undefined,
    );
    const ids = await scale(2);
    await caughtUp(ids, 1_000, 'the scale-down after the reconnect');
  });

  it('keeps the last good table through a period of 5xx, then catches up', async () => {
    const before = await routable();
    expect(before.length).toBe(2);
    const refused = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'status' });
    await emulator.post('/faults', { kind: 'http-error', status: 503, durationMs: 2_500 });
    await emulator.post('/faults', { kind: 'drop-streams' });
    // During the outage: the stream cannot reconnect (503), the table and readiness stay.
    await waitFor('a refused reconnect', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'status' })) > refused ? true : undefined,
    );
    expect(await metric(pacer.admin, 'pacer_marathon_stream_connected')).toBe(0);
    expect(await routable()).toEqual(before);
    expect((await fetch(`${pacer.admin}/ready`)).status).toBe(200);
    // A change Marathon makes while pacer cannot see it: a task dies.
    const [victim] = before as [string];
    await emulator.post(`/tasks/${victim}/state`, { state: 'TASK_FAILED' });
    // After the outage (at most its 2.5 s plus a reconnect backoff), pacer catches up.
    await waitFor('pacer to drop the task that died during the outage', async () => ((await routable()).includes(victim) ? undefined : true), 15_000);
  });

  it('survives a leader change: reconnects to the new leader and catches up', async () => {
    await fetch(`${emulator.control}/faults`, { method: 'DELETE' });
    // The stream may still be waiting out the backoff from the 5xx before: a leader change then
    // closes nothing, and the reconnect goes to the new leader without a close to count.
    await waitFor('the stream to be up before the leader change', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined), 15_000);
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    await emulator.post('/faults', { kind: 'leader-change' });
    await waitFor('the stream to reconnect', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects &&
      (await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1
        ? true
        : undefined,
      10_000,
    );
    const ids = await scale(3);
    await caughtUp(ids, 1_000, 'the scale-up after the leader change');
  });

  it('treats a stream silent beyond --stream-idle-timeout as dead, and reconnects', async () => {
    await fetch(`${emulator.control}/faults`, { method: 'DELETE' });
    const idle = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'idle' });
    // No keep-alive and no event for 4 s: pacer (idle timeout 3 s) must notice on its own.
    await emulator.post('/faults', { kind: 'silence', durationMs: 4_000 });
    await waitFor('an idle reconnect', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total', { reason: 'idle' })) > idle ? true : undefined,
      10_000,
    );
    await waitFor('the stream back', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined), 15_000);
    // The emulator's silence drops events for every stream until it ends, new ones included:
    // a change made before then would be lost for good (as events lost by a real network are).
    await waitFor('the silence to end', async () => {
      const state = (await emulator.get('/state')) as { faults?: { silence?: unknown } };
      return state.faults?.silence === null ? true : undefined;
    }, 10_000);
    const ids = await scale(2);
    await caughtUp(ids, 5_000, 'the scale-down after the silence');
  });

  it('a resync that started before a task died does not bring it back', async () => {
    await fetch(`${emulator.control}/faults`, { method: 'DELETE' });
    const ids = await tasksViaMarathon();
    await caughtUp(ids, 2_000, 'the table before the race');
    const [victim] = ids as [string];
    // Every GET is answered with the state of the moment it was asked, but 1.5 s late.
    await emulator.post('/faults', { kind: 'slow', phase: 'body', delayMs: 1_500, durationMs: 2_000 });
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const resyncs = await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' });
    await emulator.post('/faults', { kind: 'drop-streams' });
    // The stream is back, so the resync (GET /v2/apps, listing the victim as running) is on its way.
    await waitFor('the stream to reconnect', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects &&
      (await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1
        ? true
        : undefined,
    );
    await emulator.post(`/tasks/${victim}/state`, { state: 'TASK_KILLED' });
    await waitFor('the kill to be applied', async () => ((await routable()).includes(victim) ? undefined : true), 1_000);
    // Now the stale resync lands. The victim must not come back, not even for a moment.
    let resurrected = false;
    await waitFor('the stale resync to be applied', async () => {
      if ((await routable()).includes(victim)) resurrected = true;
      return (await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' })) > resyncs ? true : undefined;
    }, 10_000, 5);
    expect(resurrected).toBe(false);
    expect(await routable()).not.toContain(victim);
  });

  it('absorbs a burst of 10,000 status events in a bounded number of table applies, ending exact', async () => {
    const applies = await metric(pacer.admin, 'pacer_routing_table_applies_total');
    const events = await metric(pacer.admin, 'pacer_marathon_events_total', { type: 'status_update_event' });
    await emulator.post('/burst', { appId: APP.id, count: 10_000 });
    await waitFor(
      'all 10,000 events to arrive',
      async () => ((await metric(pacer.admin, 'pacer_marathon_events_total', { type: 'status_update_event' })) >= events + 10_000 ? true : undefined),
      20_000,
    );
    // Let the last coalescing window close, then compare.
    await caughtUp(await tasksViaMarathon(), 1_000, 'the exact final table');
    const used = (await metric(pacer.admin, 'pacer_routing_table_applies_total')) - applies;
    console.log(`burst of 10,000 status events: ${used} routing-table applies`);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(50);
  });
});
