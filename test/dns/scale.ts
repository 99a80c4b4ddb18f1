/**
 * The live zone at scale, for docs/dns.md (not a test): `node --expose-gc test/dns/scale.ts [apps] [tasks] [--sync] [--scratch]`.
 * Default 10,000 apps × 10 tasks (in 100 groups, one named port each, on 1,000 agents):
 * 1. the full build (the first table), as the server does it: in slices of 8 ms (`LiveRecords.build`,
 *    setImmediate between slices), with a 1 ms interval timer running: the longest slice (wall, and
 *    its thread's CPU time), the longest the loop was blocked (the interval's longest gap: slices,
 *    and the garbage collector's pauses between them), the time to the complete zone (wall, and
 *    CPU: the machine is shared) and the heap it keeps (with --expose-gc). With --sync, the build at
 *    once (`apply`), as before slicing;
 * 2. one-task changes (a task killed, started, turning unhealthy or healthy again), each a new table
 *    version with one app changed: the time of `apply` alone (the TableBuilder's own time is not
 *    counted), median, p99 and max over 300 changes;
 * 3. with --scratch, what the former rebuild cost: buildRecords + buildZone for the whole table.
 */
import { LiveRecords } from '../../src/dns/live.ts';
import { buildRecords, type HostLookup } from '../../src/dns/names.ts';
import { buildZone } from '../../src/dns/zone.ts';
import type { Task } from '../../src/model/app.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import type { AppState } from '../../src/model/snapshot.ts';
import { app, appState, changeOneTask, port as appPort, task } from '../helpers/model-data.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const APPS = Number(args[0] ?? 10_000);
const TASKS = Number(args[1] ?? 10);
const CHANGES = 300;

const agent = (n: number) => `10.0.${(n >> 8) & 255}.${n & 255}`;
let counter = 0;
const newTask = (appId: string, extra: Partial<Task> = {}) => {
  const n = ++counter;
  return task(appId, n, { host: agent(n % 1_000), ipAddresses: [`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`], ports: [31000 + (n % 1000)], ...extra });
};
const apps = new Map<string, AppState>();
for (let i = 0; i < APPS; i++) {
  const id = `/group${i % 100}/app${i}`;
  apps.set(id, appState(app(id, { ports: [appPort(0, 10000 + (i % 50_000), { name: 'http' })] }), Array.from({ length: TASKS }, () => newTask(id))));
}

const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
let table = builder.build({ apps }).table;
const lookup: HostLookup = (host) => [host];
const options = { domain: 'mesos', ipSources: ['netinfo', 'host'] as const, nsAddresses: ['10.9.9.9'] };
const live = new LiveRecords({ ...options, ttl: 60 }, lookup);

const SLICE_MS = 8;
const sliced = !process.argv.includes('--sync');

/** The full build, sliced as the server does it (or at once with --sync), with the event loop watched. */
async function fullBuild(): Promise<{ ms: number; slices: number; longestSlice: number; longestSliceCpu: number; longestGap: number }> {
  let last = performance.now();
  let longestGap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last > longestGap) longestGap = now - last;
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  last = started;
  longestGap = 0;
  let slices = 0;
  let longestSlice = 0;
  // The machine is shared: a slice's own thread CPU time tells its work from time the thread was not running.
  let longestSliceCpu = 0;
  const cpuMs = () => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) / 1000;
  };
  if (sliced) {
    const build = live.build(table);
    await new Promise<void>((resolve) => {
      const slice = () => {
        const t = performance.now();
        const c = cpuMs();
        const done = build.step(t + SLICE_MS);
        if (done) build.finish(serial++);
        const ms = performance.now() - t;
        slices++;
        longestSlice = Math.max(longestSlice, ms);
        longestSliceCpu = Math.max(longestSliceCpu, cpuMs() - c);
        if (done) resolve();
        else setImmediate(slice);
      };
      setImmediate(slice);
    });
  } else {
    const c = cpuMs();
    live.apply(table, serial++);
    slices = 1;
    longestSlice = performance.now() - started;
    longestSliceCpu = cpuMs() - c;
  }
  const ms = performance.now() - started;
  // The gap the build's last slice left, seen by the next tick.
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(tick);
  return { ms, slices, longestSlice, longestSliceCpu, longestGap };
}

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let serial = 1;
const cpu0 = process.cpuUsage();
const build = await fullBuild();
const cpu = process.cpuUsage(cpu0);
global.gc?.();
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
const zone = live.zone;
console.log(
  `${APPS} apps × ${TASKS} tasks: ${zone.names.size} names, ${zone.recordCount} records; full build ${sliced ? `in ${build.slices} slices of ${SLICE_MS} ms` : 'at once'}: ` +
    `${build.ms.toFixed(0)} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)` +
    (global.gc ? `, ${heapMb.toFixed(0)} MB of heap` : '') +
    `; longest slice ${build.longestSlice.toFixed(1)} ms (CPU ${build.longestSliceCpu.toFixed(1)} ms), event loop blocked at most ${build.longestGap.toFixed(1)} ms (a 1 ms interval's longest gap)`,
);
let t0 = 0;

// One-task changes, one table version each.
const ids = [...apps.keys()];
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const times: number[] = [];
for (let i = 0; i < CHANGES; i++) {
  changeOneTask(apps, ids, i, rnd, newTask);
  table = builder.build({ apps }).table;
  t0 = performance.now();
  live.apply(table, serial++);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3);
console.log(`one-task change (${CHANGES} changes): median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${times[times.length - 1]!.toFixed(3)} ms`);

if (process.argv.includes('--scratch')) {
  t0 = performance.now();
  const scratch = buildZone(buildRecords(table, options, lookup), { ttl: 60, serial });
  console.log(`from scratch (buildRecords + buildZone, the former rebuild): ${(performance.now() - t0).toFixed(0)} ms for ${scratch.names.size} names`);
}
