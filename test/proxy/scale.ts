/**
 * The proxy's table apply at scale, for bench notes (not a test):
 * `npx node --expose-gc test/proxy/scale.ts [apps] [tasks] [--bind 127.78.0.1] [--port-base 20000] [--snapshot file]`.
 * Default 10,000 apps × 10 tasks, every app exposed on its own service port (tcp mode, as the
 * scale bench's apps are) bound to a loopback address of its own, so the proxy opens one listener
 * per app and keeps 100,000 backends. In-process, with the real proxy consumer (`startProxy`):
 * 1. the first apply (every runtime, upstream and listener created), and the time until every
 *    listener is bound (its `listener open` log line);
 * 2. the heap the proxy keeps (with --expose-gc: after a GC, minus the heap with the table alone),
 *    and the process RSS;
 * 3. one-task changes (a task killed, started, turning unhealthy, healthy again), each a new table
 *    version with one app changed: the time of `apply` alone (the TableBuilder's time is not
 *    counted), median, p99 and max;
 * 4. structural changes: an app added (a new listener) and an app removed, median of a few each;
 * 5. one /metrics scrape (prom-client rendering every series).
 * With `--busy`, every service port is taken before: the time until every bind failure is listed.
 *
 * `npx node test/proxy/scale.ts --check [steps] [--seed n]`: the incremental apply against the
 * whole-table one. Two proxies take the same random sequence of tables (apps added and removed,
 * tasks killed, started, turning unhealthy, moving to another port, labels changed: listen ports
 * shared by several apps, blue/green deployment groups, http and tcp modes, udp ports): one with
 * each table's diff (what pacer does), one without (what a retry or a worker does). After each
 * table their listeners, listener problems and `pacer_backend_up` series must be the same (the
 * bind address aside: each binds its own). Exits 1 at the first difference.
 */
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { writeHeapSnapshot } from 'node:v8';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import type { Task } from '../../src/model/app.ts';
import { isEmptyDiff, TableBuilder } from '../../src/model/routing-table.ts';
import type { AppState } from '../../src/model/snapshot.ts';
import { startProxy, type ProxyConsumer } from '../../src/proxy/index.ts';
import { seededRandom } from '../helpers/random.ts';
import { app, appState, changeOneTask, port as appPort, task } from '../helpers/model-data.ts';

const argv = process.argv.slice(2);
if (argv.includes('--check')) {
  await check();
  process.exit(0);
}
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]!.startsWith('--')));
const APPS = Number(positional[0] ?? 10_000);
const TASKS = Number(positional[1] ?? 10);
const BIND = option('--bind', '127.78.0.1');
const PORT_BASE = Number(option('--port-base', '20000'));
const CHANGES = 300;
const gc = (): void => {
  globalThis.gc?.();
  globalThis.gc?.();
};
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

let counter = 0;
const newTask = (appId: string, extra: Partial<Task> = {}) => {
  const n = ++counter;
  return task(appId, n, { host: `10.0.${(n >> 8) & 255}.${n & 255}`, ipAddresses: [`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`], ports: [31000 + (n % 30_000)], ...extra });
};
const appOf = (i: number): AppState => {
  const id = `/scale/g${i % 100}/app${i}`;
  return appState(
    app(id, { labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BIND_ADDR: BIND }, ports: [appPort(0, PORT_BASE + i)] }),
    Array.from({ length: TASKS }, () => newTask(id)),
  );
};
const apps = new Map<string, AppState>();
for (let i = 0; i < APPS; i++) {
  const s = appOf(i);
  apps.set(s.app.id, s);
}
const builder = new TableBuilder({ groups: ['external'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
let built = builder.build({ apps });

// Count the listeners that opened (`listener open` lines, and the `count` of `listeners open` ones)
// instead of writing them anywhere.
let opened = 0;
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) {
      if (line.includes('"msg":"listener open"')) opened++;
      else if (line.includes('"msg":"listeners open"')) opened += (JSON.parse(line) as { count: number }).count;
    }
    done();
  },
});
const logger = createLogger('info', sink);
const metrics = createMetrics({ processMetrics: false });
const proxy = await startProxy(
  {
    bind: '127.0.0.1', httpPort: 0, httpsPort: 0, tlsCerts: [], drainTimeoutMs: 1_000, connectTimeoutMs: 1_000, idleTimeoutMs: 10_000,
    requestTimeoutMs: 10_000, maxHeaderSize: 16_384, maxConnections: 50_000, maxConnectionsPerPort: 10_000,
  },
  { logger, metrics },
);

// --busy: every service port is taken already (another process on the same address): every bind
// fails, is reported as a listener problem, and is tried again every 2 s.
const busy: Server[] = [];
if (argv.includes('--busy')) {
  for (let i = 0; i < APPS; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(PORT_BASE + i, BIND, resolve));
    busy.push(server);
  }
  let t = performance.now();
  proxy.apply(built.table, built.diff);
  const applyMs = performance.now() - t;
  t = performance.now();
  while (proxy.problems().filter((p) => p.kind === 'bind').length < APPS && performance.now() - t < 600_000) await new Promise((r) => setTimeout(r, 5));
  console.log(`every port busy: first apply ${applyMs.toFixed(0)} ms, then ${(performance.now() - t).toFixed(0)} ms until the ${APPS} bind problems are listed`);
  await proxy.close(0);
  for (const server of busy) server.close();
  process.exit(0);
}

gc();
const heapBefore = process.memoryUsage().heapUsed;
let t0 = performance.now();
const cpu0 = process.cpuUsage();
proxy.apply(built.table, built.diff);
const firstMs = performance.now() - t0;
const deadline = Date.now() + 120_000;
while (opened < APPS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const boundMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (opened < APPS) console.log(`only ${opened} of ${APPS} listeners opened; problems: ${JSON.stringify(proxy.problems().slice(0, 3))}`);
gc();
const mem = process.memoryUsage();
console.log(
  `${APPS} apps × ${TASKS} tasks: first apply ${firstMs.toFixed(0)} ms, every listener bound after ${boundMs.toFixed(0)} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)` +
    (globalThis.gc ? `; proxy heap ${mb(mem.heapUsed - heapBefore)} MB (heap ${mb(mem.heapUsed)} MB with the table), RSS ${mb(mem.rss)} MB` : ''),
);

const snapshot = option('--snapshot', '');
if (snapshot) console.log(`heap snapshot: ${writeHeapSnapshot(snapshot)}`);

// One-task changes, one table version each.
const ids = [...apps.keys()];
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const times: number[] = [];
for (let i = 0; i < CHANGES; i++) {
  changeOneTask(apps, ids, i, rnd, newTask);
  built = builder.build({ apps });
  if (isEmptyDiff(built.diff)) continue; // pacer does not call its consumers then
  t0 = performance.now();
  proxy.apply(built.table, built.diff);
  times.push(performance.now() - t0);
}
const stats = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  const at = (q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(3);
  return `median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${xs[xs.length - 1]!.toFixed(3)} ms`;
};
gc();
console.log(`one-task change (${times.length} changes): ${stats(times)}` + (globalThis.gc ? `; heap after them ${mb(process.memoryUsage().heapUsed)} MB` : ''));

// Structural changes: an app added (its listener opens), then removed.
const added: number[] = [];
const removed: number[] = [];
for (let k = 0; k < 10; k++) {
  const s = appOf(APPS + k);
  apps.set(s.app.id, s);
  built = builder.build({ apps });
  t0 = performance.now();
  proxy.apply(built.table, built.diff);
  added.push(performance.now() - t0);
  const goal = opened + 1;
  while (opened < goal && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 2));
}
for (let k = 0; k < 10; k++) {
  apps.delete(`/scale/g${(APPS + k) % 100}/app${APPS + k}`);
  built = builder.build({ apps });
  t0 = performance.now();
  proxy.apply(built.table, built.diff);
  removed.push(performance.now() - t0);
}
console.log(`an app added: ${stats(added)}; an app removed: ${stats(removed)}`);

t0 = performance.now();
const text = await metrics.registry.metrics();
console.log(`one /metrics scrape: ${(performance.now() - t0).toFixed(0)} ms, ${mb(text.length)} MB, ${text.split('\n').filter((l) => l.startsWith('pacer_backend_up')).length} pacer_backend_up series`);

t0 = performance.now();
await proxy.close(0);
console.log(`close: ${(performance.now() - t0).toFixed(0)} ms`);

async function check(): Promise<void> {
  const opt = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? Number(argv[i + 1]) : fallback;
  };
  const steps = opt('--check', 400);
  const seed = opt('--seed', 7);
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const chance = (p: number) => random() < p;
  const ports = Array.from({ length: 8 }, (_, i) => 39_100 + i);
  const addresses = ['127.79.0.1', '127.79.1.1'] as const;
  const options = {
    bind: '127.0.0.1', httpPort: 0, httpsPort: 0, tlsCerts: [], drainTimeoutMs: 200, connectTimeoutMs: 1_000, idleTimeoutMs: 10_000,
    requestTimeoutMs: 10_000, maxHeaderSize: 16_384, maxConnections: 50_000, maxConnectionsPerPort: 10_000,
  };
  const sides = await Promise.all(
    addresses.map(async (address) => {
      const metrics = createMetrics({ processMetrics: false });
      const proxy: ProxyConsumer = await startProxy(options, { logger: createLogger('silent'), metrics });
      return { address, metrics, proxy, builder: new TableBuilder({ groups: ['external'], strictMode: false, healthCheck: true, bind: address }) };
    }),
  );

  const snapshot = new Map<string, AppState>();
  let n = 0;
  const labelsOf = () => {
    const labels: Record<string, string> = { HAPROXY_GROUP: 'external' };
    if (chance(0.3)) labels['HAPROXY_DEPLOYMENT_GROUP'] = pick(['bg', 'other']);
    if (chance(0.3)) labels['HAPROXY_0_MODE'] = 'http';
    if (chance(0.2)) labels['HAPROXY_1_PORT'] = String(pick(ports));
    return labels;
  };
  const portsOf = () =>
    Array.from({ length: chance(0.3) ? 2 : 1 }, (_, i) => appPort(i, pick(ports), { protocols: pick([['tcp'], ['tcp'], ['tcp'], ['udp'], ['tcp', 'udp']] as const) }));
  const newCheckTask = (appId: string, portCount: number, extra: Partial<Task> = {}) => {
    const k = ++n;
    return task(appId, k, {
      host: '127.0.0.1', ipAddresses: ['127.0.0.1'], ports: Array.from({ length: portCount }, (_, i) => 40_000 + i * 1_000 + (k % 1_000)),
      health: pick(['none', 'healthy', 'healthy', 'unhealthy'] as const), ...extra,
    });
  };
  const addApp = () => {
    const id = `/check/app${++n}`;
    const a = app(id, { labels: labelsOf(), ports: portsOf() });
    snapshot.set(id, appState(a, Array.from({ length: Math.floor(random() * 4) }, () => newCheckTask(id, a.ports.length))));
  };
  const mutations: (() => void)[] = [
    addApp,
    () => snapshot.size > 0 && snapshot.delete(pick([...snapshot.keys()])),
    () => {
      // A task killed, started, changing health or state, or moved to another host port.
      if (snapshot.size === 0) return;
      const id = pick([...snapshot.keys()]);
      const state = snapshot.get(id)!;
      const tasks = new Map(state.tasks);
      const victim = tasks.size > 0 ? pick([...tasks.values()]) : undefined;
      const what = pick(['kill', 'start', 'health', 'killing', 'move'] as const);
      if (what === 'start' || !victim) {
        const t = newCheckTask(id, state.app.ports.length);
        tasks.set(t.id, t);
      } else if (what === 'kill') tasks.delete(victim.id);
      else if (what === 'health') tasks.set(victim.id, { ...victim, health: victim.health === 'healthy' ? 'unhealthy' : 'healthy' });
      else if (what === 'killing') tasks.set(victim.id, { ...victim, state: 'TASK_KILLING' });
      else tasks.set(victim.id, { ...victim, ports: victim.ports.map((p) => p + 1) });
      snapshot.set(id, { app: state.app, tasks });
    },
    () => {
      // A new app definition: labels and ports again, the same tasks.
      if (snapshot.size === 0) return;
      const id = pick([...snapshot.keys()]);
      const state = snapshot.get(id)!;
      const a = app(id, { labels: labelsOf(), ports: portsOf() });
      const tasks = new Map([...state.tasks].map(([k, t]) => [k, { ...t, ports: Array.from({ length: a.ports.length }, (_, i) => t.ports[i] ?? 45_000 + (n++ % 1_000)) }]));
      snapshot.set(id, { app: a, tasks });
    },
  ];
  for (let i = 0; i < 6; i++) addApp();

  const view = async (side: (typeof sides)[number]) => {
    const norm = (text: string) => text.replaceAll(side.address, 'ADDR');
    const listeners = side.proxy.listeners().map((l) => norm(JSON.stringify({ ...l, connections: undefined, flows: undefined }))).sort();
    const problems = side.proxy.problems().map((p) => norm(JSON.stringify(p))).sort();
    const up = (await side.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('pacer_backend_up{')).sort();
    return JSON.stringify({ listeners, problems, up }, null, 1);
  };
  let services = 0;
  let clashes = 0;
  for (let step = 1; step <= steps; step++) {
    for (let k = 1 + Math.floor(random() * 3); k > 0; k--) pick(mutations)();
    const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]];
    const builtA = a.builder.build({ apps: snapshot });
    const builtB = b.builder.build({ apps: snapshot });
    if (!isEmptyDiff(builtA.diff)) a.proxy.apply(builtA.table, builtA.diff);
    // Without a diff, as a proxy worker's whole table or a retry: the whole table is reconciled.
    b.proxy.apply(builtB.table);
    services += builtA.table.services.length;
    clashes += a.proxy.problems().filter((p) => p.kind === 'clash').length;
    // Binds (and closes) settle; a port closed and bound again at once may need the 2 s retry.
    let same = false;
    let va = '';
    let vb = '';
    for (const deadline = Date.now() + 5_000; !same && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 15));
      [va, vb] = [await view(a), await view(b)];
      same = va === vb;
    }
    if (!same) {
      console.log(`step ${step} (seed ${seed}): the incremental apply differs from the whole-table one\nwith the diff: ${va}\nwithout: ${vb}`);
      process.exit(1);
    }
  }
  console.log(`${steps} tables (seed ${seed}, ${(services / steps).toFixed(1)} services and ${(clashes / steps).toFixed(1)} clashes a table on average): the incremental apply matched the whole-table one`);
  await Promise.all(sides.map((s) => s.proxy.close(0)));
}
