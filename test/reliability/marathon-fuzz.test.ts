/**
 * Fuzzing pacer's Marathon client with mutated app and event JSON.
 *
 * In process: thousands of mutations (seeded, replayable) of real app lists, apps, tasks and event
 * payloads go through the decoders the client uses (`decodeAppList`, `decodeAppResponse`,
 * `decodeTask`, `decodeEvent`, `decodeInfo`) and on through the model (snapshot merge, event apply,
 * table build). No exception may escape; every result is a decoded value that keeps the model's
 * invariants (ports 0-65535, known states and modes, bounded problem lists) or a short error; one bad
 * app in a list never costs the others.
 *
 * End to end: mutated events written through the emulator's `/_emulator/raw` to a live pacer are
 * counted in `pacer_marathon_events_malformed_total` exactly as the decoder predicts, skipped, and
 * leave a healthy app's routes and traffic alone.
 */
import { createServer, type Server } from 'node:http';
import { getOnce } from '../proxy/helpers.ts';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutesView } from '../../src/admin/routes-view.ts';
import { PacerError } from '../../src/errors.ts';
import { MarathonClient } from '../../src/marathon/client.ts';
import type { App, Task } from '../../src/model/app.ts';
import { isTaskState } from '../../src/model/app.ts';
import { decodeInfo } from '../../src/model/cluster.ts';
import { MAX_PROBLEMS_PER_APP, decodeApp, decodeAppList, decodeAppResponse, decodeTask, type DecodedApp } from '../../src/model/decode.ts';
import { SUBSCRIBED_EVENT_TYPES, decodeEvent, type MarathonEvent } from '../../src/model/events.ts';
import { parseServiceSpecs } from '../../src/model/labels.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import { EMPTY_SNAPSHOT, Tombstones, applyEvents, mergeFullFetch, type Snapshot } from '../../src/model/snapshot.ts';
import { freePort } from '../helpers/ports.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';
import { seededRandom } from '../helpers/random.ts';
import {
  deeplyNested,
  eventTemplates,
  fixtureApps,
  fixtureTasks,
  mutateText,
  mutateValue,
  mutatedEvent,
  sseFrames,
  type Json,
  type Random,
} from './marathon-fuzz-lib.ts';

const SEED = Number(process.env['PACER_FUZZ_SEED'] ?? 20_240_917);
const MAX_PROBLEM_CHARS = 300 + 1;

const NETWORK_MODES = new Set(['host', 'container/bridge', 'container']);
const HEALTHS = new Set(['none', 'healthy', 'unhealthy', 'unknown']);
const CHECK_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'TCP', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP', 'COMMAND']);

function isPort(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** Why a decoded app breaks the model's invariants, or undefined when it keeps them. */
function appViolation(d: DecodedApp): string | undefined {
  const a: App = d.app;
  if (typeof a.id !== 'string' || !a.id.startsWith('/') || a.id.trim() !== a.id) return `id ${String(a.id).slice(0, 40)}`;
  if (!NETWORK_MODES.has(a.networkMode)) return `network mode ${String(a.networkMode)}`;
  if (!Number.isInteger(a.instances) || a.instances < 0) return `instances ${a.instances}`;
  if (typeof a.version !== 'string') return 'version';
  for (const [k, v] of Object.entries(a.labels)) if (typeof v !== 'string') return `label ${k}`;
  for (const [k, v] of Object.entries(a.env)) if (typeof v !== 'string') return `env ${k}`;
  if (!a.args.every((x) => typeof x === 'string')) return 'args';
  for (let i = 0; i < a.ports.length; i++) {
    const p = a.ports[i]!;
    if (p.index !== i) return `port ${i} has index ${p.index}`;
    if (!isPort(p.servicePort)) return `servicePort ${p.servicePort}`;
    if (p.containerPort !== undefined && !isPort(p.containerPort)) return `containerPort ${p.containerPort}`;
    if (!p.protocols.every((x) => x === 'tcp' || x === 'udp')) return 'protocols';
    for (const v of Object.values(p.labels)) if (typeof v !== 'string') return 'port label';
  }
  for (const c of a.healthChecks) {
    if (!CHECK_PROTOCOLS.has(c.protocol)) return `check protocol ${c.protocol}`;
    if (c.port !== undefined && !isPort(c.port)) return `check port ${c.port}`;
    if (c.portIndex !== undefined && !(Number.isInteger(c.portIndex) && c.portIndex >= 0)) return `check portIndex ${c.portIndex}`;
    if (![c.intervalSeconds, c.timeoutSeconds, c.maxConsecutiveFailures].every((n) => Number.isFinite(n) && n >= 0)) return 'check timings';
  }
  for (const t of d.tasks) {
    const v = taskViolation(t);
    if (v) return v;
  }
  if (d.problems.length > MAX_PROBLEMS_PER_APP + 1) return `${d.problems.length} problems`;
  for (const p of d.problems) if (typeof p !== 'string' || p.length > MAX_PROBLEM_CHARS) return `a problem of ${p.length} characters`;
  return undefined;
}

function taskViolation(t: Task): string | undefined {
  if (typeof t.id !== 'string' || t.id === '') return 'task id';
  if (typeof t.instanceId !== 'string' || t.instanceId === '') return 'instance id';
  if (!isTaskState(t.state)) return `task state ${String(t.state)}`;
  if (!HEALTHS.has(t.health)) return `health ${t.health}`;
  if (typeof t.host !== 'string') return 'host';
  if (!t.ports.every(isPort)) return `task ports ${t.ports.slice(0, 5).join(',')}`;
  if (!t.ipAddresses.every((ip) => typeof ip === 'string' && ip !== '')) return 'ip addresses';
  return undefined;
}

function eventViolation(e: MarathonEvent): string | undefined {
  switch (e.kind) {
    case 'status':
      if (!e.taskId || !e.appId || !e.instanceId) return 'status ids';
      if (!isTaskState(e.state)) return 'status state';
      if (!e.ports.every(isPort)) return 'status ports';
      if (typeof e.host !== 'string') return 'status host';
      return undefined;
    case 'instance':
      return e.instanceId && e.appId && e.condition ? undefined : 'instance ids';
    case 'check':
      return e.instanceId && e.appId && typeof e.alive === 'boolean' ? undefined : 'check';
    case 'instance-health':
      return e.instanceId && e.appId && (e.healthy === null || typeof e.healthy === 'boolean') ? undefined : 'instance health';
    case 'app':
      return e.appIds.length > 0 && e.appIds.every((id) => typeof id === 'string' && id !== '') ? undefined : 'app ids';
    case 'ignored':
      return undefined;
  }
}

/** Run `fn`; a throw fails the test with the seed and case that caused it. */
function noThrow<T>(what: string, caseNo: number, input: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new Error(`${what} threw on case ${caseNo} (seed ${SEED}): ${String(error)}\ninput: ${input().slice(0, 500)}`);
  }
}

function describeInput(v: Json | string): () => string {
  return () => {
    if (typeof v === 'string') return v;
    try {
      return JSON.stringify(v);
    } catch {
      return '[unprintable: nested too deeply]';
    }
  };
}

const TABLE_OPTIONS = { groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' } as const;

/** Decoded apps and events through the model, as the sync engine does it: merge, apply, build. */
class ModelPipe {
  readonly tombstones = new Tombstones();
  readonly builder = new TableBuilder(TABLE_OPTIONS);
  snapshot: Snapshot = EMPTY_SNAPSHOT;

  full(apps: readonly DecodedApp[]): void {
    this.snapshot = mergeFullFetch(this.snapshot, apps, this.tombstones);
    this.builder.build(this.snapshot);
  }

  events(events: readonly MarathonEvent[]): void {
    const applied = applyEvents(this.snapshot, events, this.tombstones);
    this.snapshot = applied.snapshot;
    this.builder.build(this.snapshot, Date.now(), applied.changed);
  }
}

describe('Marathon client fuzz (in process)', () => {
  const apps = fixtureApps();
  const tasks = fixtureTasks();
  const templates = eventTemplates();
  const baseline = apps.map((a) => {
    const r = decodeApp(a);
    if (!r.ok) throw new Error(`fixture app does not decode: ${r.error}`);
    return r.value;
  });

  it('has real fixtures to start from', () => {
    expect(apps.length).toBeGreaterThanOrEqual(8);
    expect(tasks.length).toBeGreaterThanOrEqual(3);
    for (const b of baseline) expect(appViolation(b), b.app.id).toBeUndefined();
  });

  it('decodes 3,000 app lists with one mutated app: no throw, invariants kept, the other apps untouched', () => {
    const random = seededRandom(SEED);
    const pipe = new ModelPipe();
    let skipped = 0;
    let withProblems = 0;
    for (let n = 0; n < 3_000; n++) {
      const k = Math.floor(random() * apps.length);
      const mutated = mutateValue(random, apps[k] as Json);
      const list = { apps: apps.map((a, i) => (i === k ? mutated : a)) };
      const r = noThrow('decodeAppList', n, describeInput(mutated), () => decodeAppList(list));
      expect(r.ok, `case ${n}`).toBe(true);
      if (!r.ok) continue;
      for (const d of r.value.apps) expect(appViolation(d), `case ${n} (seed ${SEED}): ${d.app.id.slice(0, 60)}`).toBeUndefined();
      // Every app but the mutated one decodes exactly as it does alone, in order.
      const others = baseline.filter((_, i) => i !== k);
      if (r.value.apps.length === apps.length) {
        expect(JSON.stringify(r.value.apps.filter((_, i) => i !== k)) === JSON.stringify(others), `case ${n}: the other apps changed`).toBe(true);
        if (r.value.apps[k]!.problems.length > 0) withProblems++;
      } else {
        skipped++;
        expect(JSON.stringify(r.value.apps) === JSON.stringify(others), `case ${n}: the other apps changed`).toBe(true);
        expect(r.value.problems.some((p) => p.startsWith(`apps[${k}] skipped`)), `case ${n}: ${r.value.problems.join('; ')}`).toBe(true);
      }
      noThrow('the model (full fetch + table build)', n, describeInput(mutated), () => pipe.full(r.value.apps));
    }
    console.log(`app-list fuzz (seed ${SEED}): 3,000 cases, ${skipped} mutated apps skipped, ${withProblems} decoded with problems`);
    expect(skipped).toBeGreaterThan(0);
    expect(withProblems).toBeGreaterThan(0);
  });

  it('decodes 2,000 mutated single-app answers and 2,000 mutated tasks without a throw', () => {
    const random = seededRandom(SEED + 1);
    const pipe = new ModelPipe();
    let failed = 0;
    for (let n = 0; n < 2_000; n++) {
      const app = apps[Math.floor(random() * apps.length)] as Json;
      const answer = random() < 0.8 ? { app: mutateValue(random, app) } : mutateValue(random, { app });
      const r = noThrow('decodeAppResponse', n, describeInput(answer), () => decodeAppResponse(answer));
      if (r.ok) {
        expect(appViolation(r.value), `case ${n}`).toBeUndefined();
        noThrow('the model', n, describeInput(answer), () => pipe.full([r.value]));
      } else {
        failed++;
        expect(r.error.length, r.error.slice(0, 100)).toBeLessThanOrEqual(400);
      }
    }
    const context = baseline[0]!.app;
    for (let n = 0; n < 2_000; n++) {
      const task = mutateValue(random, tasks[Math.floor(random() * tasks.length)] as Json);
      const r = noThrow('decodeTask', n, describeInput(task), () => decodeTask(task, context));
      if (r.ok) expect(taskViolation(r.value), `task case ${n}`).toBeUndefined();
      else expect(r.error.length).toBeLessThanOrEqual(400);
    }
    expect(failed).toBeGreaterThan(0);
  });

  it('decodes 3,000 mutated text documents (truncated, flipped, duplicated keys, 100,000-deep nesting) without a throw', () => {
    const random = seededRandom(SEED + 2);
    const texts = [JSON.stringify({ apps }), ...apps.map((a) => JSON.stringify({ app: a }))];
    let notJson = 0;
    for (let n = 0; n < 3_000; n++) {
      const text = mutateText(random, texts[Math.floor(random() * texts.length)]!);
      // The client parses the body (a parse error is its own failure: PACER_ERR_MARATHON_BAD_JSON) …
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        notJson++;
        continue;
      }
      // … and hands what parsed to the decoders.
      const list = noThrow('decodeAppList', n, () => text, () => decodeAppList(json));
      if (list.ok) for (const d of list.value.apps) expect(appViolation(d), `case ${n}`).toBeUndefined();
      const one = noThrow('decodeAppResponse', n, () => text, () => decodeAppResponse(json));
      if (one.ok) expect(appViolation(one.value), `case ${n}`).toBeUndefined();
      noThrow('decodeInfo', n, () => text, () => decodeInfo(json));
    }
    expect(notJson).toBeGreaterThan(0);
    expect(notJson).toBeLessThan(3_000);
  });

  it('decodes 5,000 mutated events: a decoded event keeps its invariants, a bad one is a short error, none throws', () => {
    const random = seededRandom(SEED + 3);
    const pipe = new ModelPipe();
    pipe.full(baseline);
    let malformed = 0;
    let decoded = 0;
    const batch: MarathonEvent[] = [];
    for (let n = 0; n < 5_000; n++) {
      const { type, data } = random() < 0.8 ? mutatedEvent(random, templates) : { type: templates[n % templates.length]!.type, data: mutateText(random, JSON.stringify(templates[n % templates.length]!.payload)) };
      const r = noThrow('decodeEvent', n, () => data, () => decodeEvent(type, data));
      if (!r.ok) {
        malformed++;
        expect(r.error.length, r.error.slice(0, 200)).toBeLessThanOrEqual(200);
        continue;
      }
      decoded++;
      expect(eventViolation(r.value), `case ${n}: ${data.slice(0, 200)}`).toBeUndefined();
      batch.push(r.value);
      if (batch.length === 50) noThrow('applying events', n, () => data, () => pipe.events(batch.splice(0)));
    }
    noThrow('applying events', 5_000, () => '', () => pipe.events(batch.splice(0)));
    console.log(`event fuzz (seed ${SEED}): 5,000 cases, ${malformed} malformed, ${decoded} decoded`);
    expect(malformed).toBeGreaterThan(500);
    expect(decoded).toBeGreaterThan(500);
  });

  it('keeps Object.prototype clean after __proto__ and constructor keys', () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  });
});

describe('absurd apps, decoded in process', () => {
  const base = fixtureApps()[0] as { [key: string]: Json };

  function one(app: Json): DecodedApp {
    const r = decodeAppList({ apps: [app, base] });
    if (!r.ok) throw new Error(r.error);
    // The good app next to it is always there, unchanged.
    expect(r.value.apps.map((a) => a.app.id)).toContain(base['id']);
    const d = r.value.apps.find((a) => a.app.id !== base['id']);
    if (!d) throw new Error(`absurd app skipped: ${r.value.problems.join('; ')}`);
    expect(appViolation(d)).toBeUndefined();
    return d;
  }

  it('ports out of range: kept in place as "no port", named in a problem', () => {
    const d = one({ id: '/absurd/ports', portDefinitions: [{ port: 70000 }, { port: -1 }, { port: 80 }], tasks: [{ id: 'absurd_ports.instance-1._app.1', state: 'TASK_RUNNING', host: 'h', ports: [70000, -1, 31000] }] });
    expect(d.app.ports.map((p) => p.servicePort)).toEqual([0, 0, 80]);
    expect(d.tasks[0]?.ports).toEqual([0, 0, 31000]);
    expect(d.problems.join('\n')).toContain('/absurd/ports.portDefinitions[0].port 70000 is not a port');
  });

  it('10,000 tasks with bad ports: all decoded, at most 21 problems', () => {
    const tasksJson = Array.from({ length: 10_000 }, (_, i) => ({ id: `absurd_many.instance-${i}._app.1`, state: 'TASK_RUNNING', host: '127.0.0.1', ports: [100_000 + i] }));
    const d = one({ id: '/absurd/many', portDefinitions: [{ port: 10999 }], tasks: tasksJson });
    expect(d.tasks.length).toBe(10_000);
    expect(d.problems.length).toBe(MAX_PROBLEMS_PER_APP + 1);
    expect(d.problems.at(-1)).toBe('… and 9980 more problems');
  });

  it('an unknown networking mode: reported, the app kept', () => {
    const d = one({ id: '/absurd/net', networks: [{ mode: 'warp-drive' }], portDefinitions: [{ port: 10998 }] });
    expect(d.app.networkMode).toBe('host');
    expect(d.problems.join('\n')).toContain('/absurd/net.networks[0].mode "warp-drive" is not host, container or container/bridge');
  });

  it('a 1 MB label and a 1 MB id: decoded, every problem message short', () => {
    const big = 'v'.repeat(1024 * 1024);
    const d = one({ id: `/absurd/${'i'.repeat(1024 * 1024)}`, labels: { HAPROXY_0_VHOST: big, BIG: big, BAD: 7 }, portDefinitions: [{ port: 'x' }] });
    expect(d.app.labels['BIG']?.length).toBe(1024 * 1024);
    expect(d.problems.length).toBeGreaterThan(0);
    for (const p of d.problems) expect(p.length).toBeLessThanOrEqual(MAX_PROBLEM_CHARS);
  });

  it('labels listing 120,000 names: every one kept once; a 1 MB host name is not a host name', () => {
    const names = Array.from({ length: 120_000 }, (_, i) => `h${i}.absurd.local`);
    const labels = {
      HAPROXY_GROUP: [...names, ...names.slice(0, 10)].join(','),
      HAPROXY_0_VHOST: [...names, names[0]].join(','),
      HAPROXY_0_PATH: names.map((n) => `/${n}`).join(' '),
      HAPROXY_1_VHOST: 'h'.repeat(1024 * 1024),
    };
    const { specs, problems } = parseServiceSpecs('/absurd/labels', labels, 2);
    expect(specs[0]?.vhosts.length).toBe(120_000);
    expect(specs[0]?.paths.length).toBe(120_000);
    expect(specs[0]?.groups.length).toBe(120_000);
    expect(specs[1]?.vhosts).toEqual([]);
    const bad = problems.find((p) => p.label === 'HAPROXY_1_VHOST');
    expect(bad?.reason).toMatch(/not a host name/);
    for (const p of problems) expect(p.value.length + p.reason.length + p.label.length).toBeLessThan(1_000);
  });

  it('deeply nested JSON in every field the decoder reads: no throw, no stack overflow', () => {
    const deep = deeplyNested(100_000);
    const deepObject = deeplyNested(100_000, 'object');
    for (const key of ['labels', 'portDefinitions', 'container', 'networks', 'healthChecks', 'tasks', 'instances', 'env', 'args', 'ipAddress']) {
      for (const value of [deep, deepObject]) {
        const r = decodeAppList({ apps: [{ id: '/absurd/deep', [key]: value }, base] });
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value.apps.length).toBe(2);
      }
    }
    for (const t of eventTemplates()) {
      for (const key of Object.keys(t.payload)) {
        const text = JSON.stringify(t.payload).replace(/}$/, `,${JSON.stringify(key)}:${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
        const r = decodeEvent(t.type, text);
        if (!r.ok) expect(r.error.length).toBeLessThanOrEqual(200);
      }
    }
  });
});

// ---- the client against a hostile Marathon (a real server on loopback) ----------------------------

describe('the Marathon client against a hostile server', () => {
  let server: Server;
  let base: string;
  let closedEarly = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
      });
      if (req.url?.startsWith('/v2/apps?')) {
        // An endless app list: well-formed apps in 64 KiB chunks until the client goes away.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"apps":[');
        const chunk = Buffer.from('{"id":"/endless"},'.repeat(3641));
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      } else if (req.url === '/v2/apps/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"app":{"id":"/big","labels":{"x":"${'y'.repeat(200 * 1024)}"}}}`);
      } else if (req.url === '/v2/apps/cut') {
        // A Content-Length the body never reaches: the connection closes halfway.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"app":{"id":"/cut"');
        setTimeout(() => res.destroy(), 20);
      } else if (req.url === '/v2/info') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>HTTP ERROR 503</body></html>');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops reading a body past its limit, fails the request, and counts it as bad JSON', async () => {
    const errors: string[] = [];
    const client = new MarathonClient({ urls: [base], timeoutMs: 2_000, maxBodyBytes: 1024 * 1024, onError: (reason) => errors.push(reason) });
    try {
      let apps = 0;
      await expect(client.fetchApps(() => ({ add: () => void apps++, result: () => apps }))).rejects.toThrow(/body larger than 1048576 bytes/);
      // The apps were taken one by one as they came, up to the limit.
      expect(apps).toBeGreaterThan(50_000);
      // Single-app answers get a sixteenth of the limit (64 KiB here).
      await expect(client.fetchApp('/big')).rejects.toThrow(/body larger than 65536 bytes/);
      // A body cut short and an HTML page are failures too, never a throw of another kind.
      await expect(client.fetchApp('/cut')).rejects.toThrow(PacerError);
      await expect(client.fetchInfo()).rejects.toThrow(/not JSON/);
      expect(errors).toEqual(['json', 'json', 'connect', 'json']);
      await waitFor('the endless answer to be abandoned', () => (closedEarly >= 1 ? true : undefined));
    } finally {
      await client.close();
    }
  });
});

// ---- end to end ------------------------------------------------------------------------------

let emulator: EmulatorProc;
let pacer: PacerProc;
let servicePort: number;

const HEALTHY = {
  id: '/fuzz/healthy',
  instances: 1,
  cmd: 'serve',
  labels: { HAPROXY_GROUP: 'external' },
  portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http' }],
};
const TARGET = { id: '/fuzz/target', instances: 1, cmd: 'serve', labels: {}, portDefinitions: [{ port: 0 }] };

const get = (port: number) => getOnce(port);

async function healthyBackends(): Promise<string[]> {
  const { body } = await getJson<RoutesView>(`${pacer.admin}/routes`);
  return (body.services.find((s) => s.port === servicePort)?.backends ?? []).filter((b) => b.routable).map((b) => b.task).sort();
}

async function totalEvents(): Promise<number> {
  return metric(pacer.admin, 'pacer_marathon_events_total');
}

describe('mutated events through a live pacer', () => {
  beforeAll(async () => {
    servicePort = await freePort();
    emulator = await startEmulator(['--keepalive-ms', '1000']);
    await emulator.post('/apps', { app: { ...HEALTHY, portDefinitions: [{ port: servicePort, protocol: 'tcp', name: 'http' }] }, backend: 'http' });
    await emulator.post('/apps', { app: TARGET, backend: 'none' });
    pacer = await startPacer(['--marathon', emulator.leader, '--group', 'external']);
    await waitFor('the healthy app routed', async () => ((await healthyBackends()).length === 1 ? true : undefined), 10_000);
    await waitFor('the event stream', async () => ((await metric(pacer.admin, 'pacer_marathon_stream_connected')) === 1 ? true : undefined));
  });

  afterAll(async () => {
    await pacer?.stop();
    await emulator?.stop();
  });

  it('counts exactly the payloads the decoder rejects, skips them, and keeps routes, traffic and the stream', async () => {
    const state = (await emulator.get('/state')) as { apps: { id: string; tasks: { id: string; instanceId: string; host: string; ports: number[] }[] }[] };
    const target = state.apps.find((a) => a.id === TARGET.id)?.tasks[0];
    expect(target).toBeDefined();
    const templates = eventTemplates({ appId: TARGET.id, taskId: target!.id, instanceId: target!.instanceId, host: target!.host, port: target!.ports[0] ?? 31000 });
    const random: Random = seededRandom(SEED + 4);
    const events = Array.from({ length: 600 }, () => mutatedEvent(random, templates));
    // pacer listens for the types it subscribes to; others (failed_health_check_event, …) are not dispatched.
    const dispatched = events.filter((e) => (SUBSCRIBED_EVENT_TYPES as readonly string[]).includes(e.type));
    const expectedMalformed = dispatched.filter((e) => !decodeEvent(e.type, e.data).ok).length;
    expect(expectedMalformed).toBeGreaterThan(50);

    const before = await healthyBackends();
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const malformed = await metric(pacer.admin, 'pacer_marathon_events_malformed_total');
    const received = await totalEvents();
    for (let i = 0; i < events.length; i += 100) await emulator.post('/raw', sseFrames(events.slice(i, i + 100)));
    await waitFor('every mutated event to arrive', async () => ((await totalEvents()) >= received + dispatched.length ? true : undefined), 10_000);

    expect((await metric(pacer.admin, 'pacer_marathon_events_malformed_total')) - malformed).toBe(expectedMalformed);
    expect(await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')).toBe(reconnects);
    expect(await metric(pacer.admin, 'pacer_marathon_stream_connected')).toBe(1);
    expect(await healthyBackends()).toEqual(before);
    const answer = await get(servicePort);
    expect(answer.status).toBe(200);
    expect(answer.body.trim()).toBe(before[0]);
    expect(pacer.child.exitCode).toBeNull();
    // A malformed event is logged with its type, without its payload.
    expect(pacer.output()).toContain('"msg":"malformed Marathon event skipped"');
  });

  it('drops a stream whose event never ends (17 MB without a line end) and reconnects, instead of buffering up to 100 MB', async () => {
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const connects = await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' });
    // One write: the emulator's keep-alive (a line end every second here) must not land inside the
    // event, or it ends the line and the rest is skipped as a line that is no field (slow CI did that).
    const written = await emulator.post('/raw', `event: status_update_event\r\ndata: {"taskId":"${'x'.repeat(17 * 1024 * 1024)}`);
    expect(written).toEqual({ streams: 1 });
    await waitFor('the stream to be dropped and reopened', async () =>
      (await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')) > reconnects &&
      (await metric(pacer.admin, 'pacer_marathon_resyncs_total', { trigger: 'connect', result: 'ok' })) > connects
        ? true
        : undefined,
      // The reconnect waits out a jittered backoff (earlier tests in this file dropped the stream too).
      40_000,
    );
    expect(pacer.output()).toContain('exceeded max buffer size');
    expect(pacer.child.exitCode).toBeNull();
    expect(await healthyBackends()).toHaveLength(1);
    expect((await get(servicePort)).status).toBe(200);
  }, 60_000);

  it('lives through an event nested 20,000 levels deep: counted as malformed, stream kept (it used to crash pacer)', async () => {
    const malformed = await metric(pacer.admin, 'pacer_marathon_events_malformed_total');
    const reconnects = await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total');
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    await emulator.post('/raw', `event: status_update_event\r\ndata: {"taskId":"x.instance-1._app.1","appId":"/fuzz/target","taskStatus":${deep},"ports":[${deep}]}\r\n\r\n`);
    await waitFor('the deep event to be counted', async () => ((await metric(pacer.admin, 'pacer_marathon_events_malformed_total')) === malformed + 1 ? true : undefined));
    expect(pacer.child.exitCode).toBeNull();
    expect(await metric(pacer.admin, 'pacer_marathon_stream_reconnects_total')).toBe(reconnects);
    expect((await get(servicePort)).status).toBe(200);
  });
});
