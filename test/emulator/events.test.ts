// Event sequences (CONTRACT §1.5/§1.6) as seen on a real /v2/events stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { allRunning, getJson, openStream, postJson, waitUntil } from './helpers.ts';
import type { Obj, RawClient, SseEvent } from './helpers.ts';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Compact description of events about one instance. */
function story(events: SseEvent[], instanceId: string): string[] {
  const out: string[] = [];
  for (const e of events) {
    const d = e.data;
    const about = d['instanceId'] === instanceId || String(d['taskId'] ?? '').startsWith(instanceId);
    if (!about) continue;
    switch (e.event) {
      case 'instance_changed_event': out.push(`ICE ${String(d['condition'])}`); break;
      case 'status_update_event': out.push(`SUE ${String(d['taskStatus'])}`); break;
      case 'health_status_changed_event': out.push(`HSC ${String(d['alive'])}`); break;
      case 'instance_health_changed_event': out.push(`IHC ${String(d['healthy'])}`); break;
      case 'failed_health_check_event': out.push('FHC'); break;
      default: out.push(e.event);
    }
  }
  return out;
}

let markerSeq = 0;
/** Publishes a marker and waits for it on the stream: returns the index just after it (all earlier bytes arrived). */
async function sync(emu: Emulator, s: RawClient): Promise<number> {
  const n = ++markerSeq;
  emu.publishEvent({ eventType: 'test_marker', n });
  await s.waitForEvent((e) => e.event === 'test_marker' && e.data['n'] === n);
  return s.events().findIndex((e) => e.event === 'test_marker' && e.data['n'] === n) + 1;
}

const START = ['ICE Scheduled', 'ICE Provisioned', 'SUE TASK_STAGING', 'ICE Staging', 'SUE TASK_STARTING', 'ICE Starting', 'SUE TASK_RUNNING', 'ICE Running'];

describe('event sequences', () => {
  let emu: Emulator;
  let s: RawClient;
  beforeAll(async () => {
    emu = await startEmulator({ stepDelayMs: 2 });
    s = await openStream(emu.url);
  });
  afterAll(async () => { s.close(); await emu.close(); });

  const instanceOf = (taskId: unknown): string => String(taskId).replace(/\._app\.\d+$/, '');

  it('POST /v2/apps: api_post_event, group_change_success, deployment events, then each task starts and turns healthy', async () => {
    const post = await postJson(`${emu.url}/v2/apps`, { id: '/prod/web', instances: 2, healthChecks: [{ protocol: 'HTTP', path: '/h' }] });
    const depId = String(post.headers.get('marathon-deployment-id'));
    await s.waitForEvent((e) => e.event === 'deployment_success' && e.data['id'] === depId);
    const evs = s.events();
    const api = evs.find((e) => e.event === 'api_post_event');
    expect(Object.keys(api?.data ?? {})).toEqual(['clientIp', 'uri', 'appDefinition', 'eventType', 'timestamp']);
    expect(api?.data['uri']).toBe('/v2/apps');
    expect((api?.data['appDefinition'] as Obj)['id']).toBe('/prod/web');
    const gcs = evs.find((e) => e.event === 'group_change_success');
    expect(gcs?.data).toMatchObject({ groupId: '/prod', eventType: 'group_change_success' });
    expect(Object.keys(gcs?.data ?? {})).toEqual(['groupId', 'version', 'eventType', 'timestamp']);
    const info = evs.find((e) => e.event === 'deployment_info');
    const plan = info?.data['plan'] as Obj;
    expect(Object.keys(plan)).toEqual(['id', 'steps', 'version']);
    expect(plan['id']).toBe(depId);
    expect(plan['steps']).toEqual([{ actions: [{ action: 'StartApplication', app: '/prod/web' }] }, { actions: [{ action: 'ScaleApplication', app: '/prod/web' }] }]);
    expect(info?.data['currentStep']).toEqual({ actions: [{ action: 'StartApplication', app: '/prod/web' }] });
    const order = evs.map((e) => e.event);
    expect(order.indexOf('api_post_event')).toBeLessThan(order.indexOf('group_change_success'));
    expect(order.indexOf('group_change_success')).toBeLessThan(order.indexOf('deployment_info'));
    expect(order.filter((e) => e === 'deployment_step_success')).toHaveLength(2);
    const tasks = emu.tasks('/prod/web');
    expect(tasks).toHaveLength(2);
    for (const t of tasks) {
      expect(story(evs, instanceOf(t['id']))).toEqual([...START, 'HSC true', 'IHC true']);
    }
    const ice = evs.find((e) => e.event === 'instance_changed_event');
    expect(Object.keys(ice?.data ?? {})).toEqual(['instanceId', 'condition', 'runSpecId', 'agentId', 'host', 'runSpecVersion', 'timestamp', 'eventType']);
    expect(ice?.data['agentId']).toBeNull();
    expect(ice?.data['host']).toBeNull();
    const sue = evs.find((e) => e.event === 'status_update_event');
    expect(Object.keys(sue?.data ?? {})).toEqual(['slaveId', 'taskId', 'taskStatus', 'message', 'appId', 'host', 'ipAddresses', 'ports', 'version', 'eventType', 'timestamp']);
    expect(sue?.data['timestamp']).toMatch(TS);
    const ihc = evs.find((e) => e.event === 'instance_health_changed_event');
    expect(Object.keys(ihc?.data ?? {})).toEqual(['instanceId', 'runSpecId', 'healthy', 'runSpecVersion', 'timestamp', 'eventType']);
    const hsc = evs.find((e) => e.event === 'health_status_changed_event');
    expect(Object.keys(hsc?.data ?? {})).toEqual(['appId', 'instanceId', 'version', 'alive', 'eventType', 'timestamp']);
  });

  it('health changes: per-check events, failed_health_check_event with the instance id, aggregate changes only', async () => {
    await emu.createApp({ id: '/hc2', instances: 1, healthChecks: [{ protocol: 'HTTP' }, { protocol: 'TCP' }] }, { autoHealthy: false });
    const [t] = await emu.waitForTasks('/hc2', allRunning(1));
    const tid = String(t?.['id']);
    const iid = instanceOf(tid);
    const mark = await sync(emu, s);
    const ctl = `${emu.url}/_emulator/tasks/${tid}/health`;
    expect((await postJson(ctl, { alive: true, check: 0 })).status).toBe(200);
    expect((await postJson(ctl, { alive: true, check: 1 })).status).toBe(200);
    expect((await postJson(ctl, { alive: false, check: 0 })).status).toBe(200);
    expect((await postJson(ctl, { alive: false, check: 0 })).status).toBe(200);
    expect((await postJson(ctl, { alive: true })).status).toBe(200);
    await waitUntil(() => story(s.events().slice(mark), iid).length >= 9);
    expect(story(s.events().slice(mark), iid)).toEqual([
      'HSC true', // check 0 known, aggregate still null: no IHC
      'HSC true', 'IHC true',
      'HSC false', 'FHC', 'IHC false',
      'FHC', // still failing: no HSC, no IHC
      'HSC true', 'IHC true',
    ]);
    const fhc = s.events().slice(mark).find((e) => e.event === 'failed_health_check_event');
    expect(Object.keys(fhc?.data ?? {})).toEqual(['appId', 'eventType', 'healthCheck', 'taskId', 'timestamp']);
    expect(fhc?.data['taskId']).toBe(iid);
    expect((fhc?.data['healthCheck'] as Obj)['protocol']).toBe('HTTP');
    const [after] = emu.tasks('/hc2');
    const results = after?.['healthCheckResults'] as Obj[];
    expect(results.map((r) => r['alive'])).toEqual([true, true]);
    expect(results[0]?.['lastFailureCause']).toBeDefined();
  });

  it('kill: goal change, TASK_KILLING, TASK_KILLED, then a replacement starts', async () => {
    await emu.createApp({ id: '/killme', instances: 1 });
    const [t] = await emu.waitForTasks('/killme', allRunning(1));
    await emu.waitForDeployments();
    const tid = String(t?.['id']);
    const iid = instanceOf(tid);
    const mark = await sync(emu, s);
    await emu.killTask(tid);
    const [n] = await emu.waitForTasks('/killme', (ts) => allRunning(1)(ts) && ts[0]?.['id'] !== tid);
    await waitUntil(() => story(s.events().slice(mark), iid).length >= 5);
    expect(story(s.events().slice(mark), iid)).toEqual(['ICE Running', 'SUE TASK_KILLING', 'ICE Killing', 'SUE TASK_KILLED', 'ICE Killed']);
    await waitUntil(() => story(s.events().slice(mark), instanceOf(n?.['id'])).length >= 8);
    expect(story(s.events().slice(mark), instanceOf(n?.['id']))).toEqual(START);
  });

  it('a failed task is relaunched as the next incarnation of the same instance', async () => {
    await emu.createApp({ id: '/flaky', instances: 1 });
    const [t] = await emu.waitForTasks('/flaky', allRunning(1));
    const tid = String(t?.['id']);
    expect(tid.endsWith('._app.1')).toBe(true);
    const mark = await sync(emu, s);
    const r = await postJson(`${emu.url}/_emulator/tasks/${tid}/state`, { state: 'TASK_FAILED', message: 'exit 1' });
    expect(r.status).toBe(200);
    const [n] = await emu.waitForTasks('/flaky', (ts) => allRunning(1)(ts) && String(ts[0]?.['id']).endsWith('._app.2'));
    expect(String(n?.['id'])).toBe(tid.replace(/1$/, '2'));
    const sue = s.events().slice(mark).find((e) => e.event === 'status_update_event');
    expect(sue?.data).toMatchObject({ taskId: tid, taskStatus: 'TASK_FAILED', message: 'exit 1' });
  });

  it('scale down kills the youngest; delete kills all and ends with app_terminated_event', async () => {
    await emu.createApp({ id: '/sc/app', instances: 3 });
    const three = await emu.waitForTasks('/sc/app', allRunning(3));
    await emu.waitForDeployments();
    const youngest = String(three[2]?.['id']);
    await emu.scaleApp('/sc/app', 2);
    const two = await emu.waitForTasks('/sc/app', allRunning(2));
    expect(two.map((x) => x['id'])).not.toContain(youngest);
    await emu.waitForDeployments();
    const mark = await sync(emu, s);
    const del = await getJson(`${emu.url}/v2/apps/sc/app`, { method: 'DELETE' });
    const depId = String(del.body['deploymentId']);
    await s.waitForEvent((e) => e.event === 'deployment_success' && e.data['id'] === depId);
    const evs = s.events().slice(mark);
    const kinds = evs.map((e) => e.event);
    expect(kinds[0]).toBe('group_change_success');
    expect(evs[0]?.data['groupId']).toBe('/sc');
    expect(kinds).not.toContain('api_post_event');
    const info = evs.find((e) => e.event === 'deployment_info');
    expect(info?.data['currentStep']).toEqual({ actions: [{ action: 'StopApplication', app: '/sc/app' }] });
    const term = kinds.indexOf('app_terminated_event');
    expect(term).toBeGreaterThan(kinds.lastIndexOf('status_update_event'));
    expect(evs[term]?.data).toMatchObject({ appId: '/sc/app', eventType: 'app_terminated_event' });
    for (const t of two) expect(story(evs, instanceOf(t['id']))).toEqual(['ICE Running', 'SUE TASK_KILLING', 'ICE Killing', 'SUE TASK_KILLED', 'ICE Killed']);
  });
});
