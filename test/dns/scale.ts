/**
 * The live zone at scale, for docs/dns.md (not a test): `node test/dns/scale.ts [apps] [tasks] [--scratch]`.
 * Default 10,000 apps × 10 tasks (in 100 groups, one named port each, on 1,000 agents):
 * 1. the full build (the first table): derive every app's records and put them in the zone (names
 *    are encoded when first asked for); its time (wall and CPU: the machine is shared) and the heap
 *    it keeps (with --expose-gc);
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
import { app, appState, port as appPort, task } from '../helpers/model-data.ts';

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

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let serial = 1;
let t0 = performance.now();
const cpu0 = process.cpuUsage();
live.apply(table, serial++);
const fullMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
global.gc?.();
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
const zone = live.zone;
console.log(
  `${APPS} apps × ${TASKS} tasks: ${zone.names.size} names, ${zone.recordCount} records; full build ${fullMs.toFixed(0)} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)` +
    (global.gc ? `, ${heapMb.toFixed(0)} MB of heap` : ''),
);

// One-task changes, one table version each.
const ids = [...apps.keys()];
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const times: number[] = [];
const kinds = ['kill', 'start', 'unhealthy', 'healthy'] as const;
for (let i = 0; i < CHANGES; i++) {
  const id = ids[Math.floor(rnd() * ids.length)]!;
  const state = apps.get(id)!;
  const tasks = new Map(state.tasks);
  const kind = kinds[i % kinds.length]!;
  const victim = [...tasks.values()][Math.floor(rnd() * tasks.size)];
  if (kind === 'kill' && victim) tasks.delete(victim.id);
  else if (kind === 'start') {
    const t = newTask(id);
    tasks.set(t.id, t);
  } else if (victim) tasks.set(victim.id, { ...victim, health: kind === 'unhealthy' ? 'unhealthy' : 'healthy' });
  apps.set(id, { app: state.app, tasks });
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
