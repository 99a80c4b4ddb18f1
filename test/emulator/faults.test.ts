// Fault injection and the rest of the control API, driven over HTTP like pacer's integration tests do.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { allRunning, getJson, openStream, postJson, waitUntil } from './helpers.ts';
import type { Obj, RawClient } from './helpers.ts';

describe('faults', () => {
  let emu: Emulator;
  let ctl: string;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    emu = await startEmulator({ standbyPort: 0, keepAliveMs: 50, stepDelayMs: 1 });
    ctl = emu.controlUrl;
  });
  afterEach(async () => { await getJson(`${ctl}/faults`, { method: 'DELETE' }); });
  afterAll(async () => { for (const c of clients) c.close(); await emu.close(); });
  const open = async (base = emu.url, q = ''): Promise<RawClient> => { const c = await openStream(base, q); clients.push(c); return c; };
  const fault = async (f: Obj): Promise<void> => {
    const r = await postJson(`${ctl}/faults`, f);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };

  it('drop-streams closes every SSE connection', async () => {
    const a = await open();
    const b = await open();
    await waitUntil(() => emu.streamCount === 2);
    await fault({ kind: 'drop-streams' });
    await a.waitForEnd();
    await b.waitForEnd();
    expect(emu.streamCount).toBe(0);
  });

  it('http-error answers the status on every /v2 endpoint, /v2/events included, for durationMs', async () => {
    await fault({ kind: 'http-error', status: 503, durationMs: 300 });
    for (const p of ['/v2/apps', '/v2/info', '/v2/tasks', '/ping']) {
      const r = await fetch(emu.url + p);
      expect(r.status, p).toBe(503);
      await r.text();
    }
    const ev = await openStream(emu.url);
    clients.push(ev);
    expect(ev.status).toBe(503);
    expect((await getJson(`${ctl}/state`)).status).toBe(200);
    await waitUntil(async () => (await fetch(`${emu.url}/v2/apps`)).status === 200, 5000, 'fault to expire');
  });

  it('slow delays responses until cleared', async () => {
    await fault({ kind: 'slow', delayMs: 150 });
    const t0 = Date.now();
    const r = await fetch(`${emu.url}/v2/apps`);
    expect(r.status).toBe(200);
    await r.text();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const state = (await getJson(`${ctl}/state`)).body;
    expect((state['faults'] as Obj)['slow']).toMatchObject({ delayMs: 150 });
  });

  it('silence keeps streams open but drops keep-alives and events', async () => {
    const s = await open();
    await s.waitForEvent((e) => e.event === 'event_stream_attached');
    await fault({ kind: 'silence' });
    emu.publishEvent({ eventType: 'lost_event', n: 1 });
    expect(emu.streamCount).toBe(1);
    await getJson(`${ctl}/faults`, { method: 'DELETE' });
    emu.publishEvent({ eventType: 'kept_event', n: 2 });
    await s.waitForEvent((e) => e.event === 'kept_event');
    expect(s.events().map((e) => e.event)).not.toContain('lost_event');
    expect(s.ended).toBe(false);
  });

  it('leader-change: streams of the old leader end, it redirects to the new one, /v2/leader follows', async () => {
    const oldLeader = emu.url;
    const oldStandby = emu.standbyUrl ?? '';
    const s = await open(oldLeader);
    await fault({ kind: 'leader-change' });
    await s.waitForEnd();
    expect(emu.url).toBe(oldStandby);
    expect(emu.standbyUrl).toBe(oldLeader);
    const redirect = await fetch(`${oldLeader}/v2/events?event_type=x`, { headers: { Accept: 'text/event-stream' }, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`${oldStandby}/v2/events?event_type=x`);
    await redirect.body?.cancel();
    for (const base of [oldLeader, oldStandby]) {
      expect((await getJson(`${base}/v2/leader`)).body).toEqual({ leader: new URL(oldStandby).host });
      expect((await getJson(`${base}/v2/info`)).body['leader']).toBe(new URL(oldStandby).host);
    }
    const via = await fetch(`${oldLeader}/v2/apps`);
    expect(via.headers.get('via')).toBe(`1.1 ${new URL(oldLeader).host}`);
    await via.text();
    const fresh = await open(emu.url);
    expect(fresh.status).toBe(200);
    await fault({ kind: 'leader-change' });
    expect(emu.url).toBe(oldLeader);
  });

  it('no-leader answers 502 "Could not determine the current leader" and ends streams', async () => {
    const s = await open();
    await fault({ kind: 'no-leader', durationMs: 60_000 });
    await s.waitForEnd();
    const r = await fetch(`${emu.url}/v2/apps`);
    expect(r.status).toBe(502);
    expect(await r.text()).toContain('Could not determine the current leader');
    const sb = await fetch(`${emu.standbyUrl ?? ''}/v2/events`, { headers: { Accept: 'text/event-stream' }, redirect: 'manual' });
    expect(sb.status).toBe(502);
    await sb.text();
    await getJson(`${ctl}/faults`, { method: 'DELETE' });
    expect((await fetch(`${emu.url}/v2/apps`)).status).toBe(200);
  });

  it('bad-json truncates /v2/apps bodies only', async () => {
    await emu.createApp({ id: '/bj', instances: 0 });
    await fault({ kind: 'bad-json', durationMs: 60_000 });
    for (const p of ['/v2/apps', '/v2/apps/bj']) {
      const text = await (await fetch(emu.url + p)).text();
      expect(() => JSON.parse(text), p).toThrow();
    }
    expect((await getJson(`${emu.url}/v2/info`)).status).toBe(200);
  });

  it('rejects unknown faults', async () => {
    expect((await postJson(`${ctl}/faults`, { kind: 'meteor' })).status).toBe(422);
    expect((await postJson(`${ctl}/faults`, { kind: 'slow' })).status).toBe(422);
  });
});

describe('control API', () => {
  let emu: Emulator;
  let ctl: string;
  let s: RawClient;
  beforeAll(async () => {
    emu = await startEmulator({ stepDelayMs: 1, maxOutstanding: 1024 });
    ctl = emu.controlUrl;
    s = await openStream(emu.url);
  });
  afterAll(async () => { s.close(); await emu.close(); });

  it('leader-change without a standby is refused', async () => {
    expect((await postJson(`${ctl}/faults`, { kind: 'leader-change' })).status).toBe(409);
  });

  it('POST /_emulator/apps creates an app with a backend choice', async () => {
    const r = await postJson(`${ctl}/apps`, { app: { id: '/c/echo', instances: 2, portDefinitions: [{ port: 0 }] }, backend: 'tcp' });
    expect(r.status).toBe(201);
    expect(r.body['deploymentId']).toMatch(/^[0-9a-f-]{36}$/);
    expect((r.body['app'] as Obj)['id']).toBe('/c/echo');
    await emu.waitForTasks('/c/echo', allRunning(2));
    const state = (await getJson(`${ctl}/state`)).body;
    const app = (state['apps'] as Obj[]).find((a) => a['id'] === '/c/echo');
    expect(app?.['backend']).toBe('tcp');
    expect((await postJson(`${ctl}/apps`, { app: { id: '/c/x' }, backend: 'smtp' })).status).toBe(422);
  });

  it('POST /_emulator/tasks/{id}/state drives a task through states with events', async () => {
    const [t] = emu.tasks('/c/echo');
    const id = String(t?.['id']);
    expect((await postJson(`${ctl}/tasks/${id}/state`, { state: 'TASK_KILLING' })).status).toBe(200);
    expect(emu.tasks('/c/echo').find((x) => x['id'] === id)?.['state']).toBe('TASK_KILLING');
    await s.waitForEvent((e) => e.event === 'status_update_event' && e.data['taskId'] === id && e.data['taskStatus'] === 'TASK_KILLING');
    expect((await postJson(`${ctl}/tasks/${id}/state`, { state: 'TASK_RUNNING' })).status).toBe(200);
    expect((await postJson(`${ctl}/tasks/${id}/state`, { state: 'TASK_BOGUS' })).status).toBe(422);
    expect((await postJson(`${ctl}/tasks/nope/state`, { state: 'TASK_RUNNING' })).status).toBe(404);
    expect((await postJson(`${ctl}/tasks/${id}/health`, { alive: true })).status).toBe(409);
  });

  it('POST /_emulator/events and /_emulator/raw reach every stream as given', async () => {
    const r = await postJson(`${ctl}/events`, { eventType: 'custom_event', z: 1, a: [true] });
    expect(r.body['streams']).toBe(1);
    const e = await s.waitForEvent((x) => x.event === 'custom_event');
    expect(e.rawData).toBe('{"eventType":"custom_event","z":1,"a":[true]}');
    const raw = 'event: broken\r\ndata: {not json\r\n\r\n';
    const rr = await fetch(`${ctl}/raw`, { method: 'POST', body: raw });
    expect(rr.status).toBe(200);
    await rr.text();
    await waitUntil(() => s.body.includes(raw));
  });

  it('POST /_emulator/burst replays current task states; the last event per task equals the real state', async () => {
    await emu.createApp({ id: '/burst', instances: 3, portDefinitions: [] }, { backend: 'none' });
    const tasks = await emu.waitForTasks('/burst', allRunning(3));
    const killing = String(tasks[1]?.['id']);
    await emu.setTaskState(killing, 'TASK_KILLING');
    const before = s.events().length;
    const r = await postJson(`${ctl}/burst`, { appId: '/burst', count: 3000 });
    expect(r.status).toBe(200);
    expect(r.body['sent']).toBe(3000);
    await waitUntil(() => s.events().slice(before).filter((e) => e.event === 'status_update_event' && String(e.data['appId']) === '/burst').length >= 3000, 10_000, 'burst');
    const last = new Map<string, string>();
    for (const e of s.events().slice(before)) {
      if (e.event === 'status_update_event' && e.data['appId'] === '/burst') last.set(String(e.data['taskId']), String(e.data['taskStatus']));
    }
    const real = new Map(emu.tasks('/burst').map((t) => [String(t['id']), String(t['state'])]));
    expect(last).toEqual(real);
    expect(real.get(killing)).toBe('TASK_KILLING');
    expect(s.ended).toBe(false);
    expect((await postJson(`${ctl}/burst`, { appId: '/nope', count: 1 })).status).toBe(404);
  });

  it('scale, kill and delete over the control API', async () => {
    expect((await postJson(`${ctl}/apps/c/echo/scale`, { instances: 1 })).status).toBe(200);
    const [t] = await emu.waitForTasks('/c/echo', allRunning(1));
    expect((await postJson(`${ctl}/tasks/${String(t?.['id'])}/kill`, {})).status).toBe(200);
    await emu.waitForTasks('/c/echo', (ts) => allRunning(1)(ts) && ts[0]?.['id'] !== t?.['id']);
    expect((await getJson(`${ctl}/apps/c/echo`, { method: 'DELETE' })).status).toBe(200);
    expect((await getJson(`${emu.url}/v2/apps/c/echo`)).status).toBe(404);
  });
});
