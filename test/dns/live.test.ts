/**
 * The live zone against the zone built from scratch: after every step of random table changes
 * (apps added and removed, tasks started, killed, turning unhealthy and back, apps redeployed,
 * agent names resolving to other IPs, the Mesos and Marathon leaders moving, the framework renamed,
 * Habitat apps joining, leaving and moving between rings), every name answers every type exactly as a zone built from scratch for the same table does
 * (answer sets compared without their shuffle order), and `/v1` sees the same records.
 */
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { IpSource } from '../../src/config/options.ts';
import type { App, AppPort, NetworkMode, Task, TaskState } from '../../src/model/app.ts';
import type { ClusterInfo } from '../../src/model/cluster.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import type { AppState } from '../../src/model/snapshot.ts';
import { Answerer } from '../../src/dns/answer.ts';
import { LiveRecords, TASK_CHUNK } from '../../src/dns/live.ts';
import { buildRecords, mesosLeader, splitHostPort, type HostLookup } from '../../src/dns/names.ts';
import { nameKey, TYPE } from '../../src/dns/wire.ts';
import { buildZone } from '../../src/dns/zone.ts';
import { app, port, task } from '../helpers/model-data.ts';
import { seededRandom } from '../helpers/random.ts';
import { ask, expectSameZone, sortedRecords } from './zone-compare.ts';

const TTL = 60;

const random = seededRandom;

const AGENTS = ['10.0.0.1', '10.0.0.2', 'agent-3.example.com', 'agent-4.example.com', 'agent-5.example.com', 'fd00::6'];
const AGENT_IDS = ['c0ffee-S1', 'c0ffee-S2', 'c0ffee-S33', undefined, 'weird--'];
const GROUPS = ['', '/prod', '/q/logs', '/Upper.Case', '/a-very-long-group-name-that-goes-on-and-on-and-on-and-on-and-on-and-on'];
const MODES: NetworkMode[] = ['host', 'container/bridge', 'container'];
/** `HABITAT_RING` values: sanitised alike (`prod`/`Prod`), too long for a label, nothing left after sanitising, blank (ring `default`). */
const RINGS = ['prod', 'Prod', 'blue_ring', 'r'.repeat(70), '--', ' '];

interface World {
  readonly apps: Map<string, AppState>;
  info: ClusterInfo | undefined;
  readonly resolved: Map<string, string[]>;
  serial: number;
  taskCounter: number;
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function randomPorts(rnd: () => number, mode: NetworkMode): AppPort[] {
  const n = Math.floor(rnd() * 3);
  return Array.from({ length: n }, (_, i) =>
    port(i, 10000 + i, {
      name: rnd() < 0.6 ? pick(rnd, ['http', 'grpc', 'Admin_Port', 'metrics']) : undefined,
      protocols: rnd() < 0.3 ? ['udp', 'tcp'] : rnd() < 0.2 ? ['udp'] : ['tcp'],
      hasHostPort: mode === 'host' || rnd() < 0.5,
      containerPort: mode === 'host' ? undefined : 8080 + i,
    }),
  );
}

/** A Habitat app's ports: `hab-gossip` (`udp,tcp`, now and then `tcp` only), often a `hab-http`. */
function habitatPorts(rnd: () => number, mode: NetworkMode): AppPort[] {
  // Bridge: a container port of 0 takes the host port (a member); 9638 with a random host port is remapped (left out).
  const inside = (fixed: number) => (mode === 'host' ? undefined : mode === 'container/bridge' && rnd() < 0.6 ? 0 : fixed);
  const ports = [
    port(0, 10100, { name: 'hab-gossip', protocols: rnd() < 0.85 ? ['udp', 'tcp'] : ['tcp'], hasHostPort: mode !== 'container' || rnd() < 0.5, containerPort: inside(9638) }),
  ];
  if (rnd() < 0.6) ports.push(port(1, 10101, { name: 'hab-http', hasHostPort: mode !== 'container' || rnd() < 0.5, containerPort: inside(9631) }));
  return ports;
}

function habitatLabels(rnd: () => number): Record<string, string> {
  const labels: Record<string, string> = { HAPROXY_GROUP: 'external', HABITAT_RING: pick(rnd, RINGS) };
  if (rnd() < 0.2) labels['HABITAT_PERMANENT_PEER'] = 'true';
  return labels;
}

function randomTask(world: World, rnd: () => number, a: App): Task {
  const n = ++world.taskCounter;
  const host = pick(rnd, AGENTS);
  const ipAddresses = rnd() < 0.7 ? [rnd() < 0.15 ? `fd00::1:${n.toString(16)}` : `10.1.${n % 250}.${(n >> 8) % 250}`] : [];
  return task(a.id, n, {
    host,
    agentId: pick(rnd, AGENT_IDS),
    ipAddresses,
    ports: a.ports.map((_, i) => 31000 + ((n * 7 + i) % 40)),
    state: rnd() < 0.85 ? 'TASK_RUNNING' : pick(rnd, ['TASK_STAGING', 'TASK_KILLING', 'TASK_UNREACHABLE'] as TaskState[]),
    health: rnd() < 0.8 ? 'healthy' : pick(rnd, ['unhealthy', 'unknown', 'none'] as const),
  });
}

function randomApp(world: World, rnd: () => number): AppState {
  const mode = pick(rnd, MODES);
  const name = rnd() < 0.1 ? 'x'.repeat(60 + Math.floor(rnd() * 6)) : pick(rnd, ['web', 'api', 'db', 'cache', 'Worker_1', 'slave', 'leader']);
  const id = `${pick(rnd, GROUPS)}/${name}${Math.floor(rnd() * 20)}`;
  const a = rnd() < 0.35 ? app(id, { networkMode: mode, ports: habitatPorts(rnd, mode), labels: habitatLabels(rnd) }) : app(id, { networkMode: mode, ports: randomPorts(rnd, mode) });
  const tasks = Array.from({ length: Math.floor(rnd() * 4) }, () => randomTask(world, rnd, a));
  return { app: a, tasks: new Map(tasks.map((t) => [t.id, t])) };
}

/** One random change to the world; returns what it was, and the hosts whose IPs changed (if that was the change). */
function mutate(world: World, rnd: () => number): { what: string; hosts?: string[] } {
  const ids = [...world.apps.keys()];
  const roll = rnd();
  const someApp = () => world.apps.get(pick(rnd, ids))!;
  if (roll < 0.15 || ids.length === 0) {
    const s = randomApp(world, rnd);
    world.apps.set(s.app.id, s);
    return { what: `add ${s.app.id}` };
  }
  if (roll < 0.22) {
    const id = pick(rnd, ids);
    world.apps.delete(id);
    return { what: `remove ${id}` };
  }
  if (roll < 0.4) {
    const s = someApp();
    const t = randomTask(world, rnd, s.app);
    world.apps.set(s.app.id, { app: s.app, tasks: new Map([...s.tasks, [t.id, t]]) });
    return { what: `start ${t.id}` };
  }
  if (roll < 0.52) {
    const s = someApp();
    const victim = pick(rnd, [...s.tasks.keys()]);
    if (victim === undefined) return { what: 'nothing' };
    const tasks = new Map(s.tasks);
    tasks.delete(victim);
    world.apps.set(s.app.id, { app: s.app, tasks });
    return { what: `kill ${victim}` };
  }
  if (roll < 0.72) {
    const s = someApp();
    const t = pick(rnd, [...s.tasks.values()]);
    if (t === undefined) return { what: 'nothing' };
    const change: Partial<Task> =
      rnd() < 0.5 ? { health: t.health === 'unhealthy' ? 'healthy' : 'unhealthy' } : { state: t.state === 'TASK_RUNNING' ? 'TASK_KILLING' : 'TASK_RUNNING' };
    world.apps.set(s.app.id, { app: s.app, tasks: new Map([...s.tasks, [t.id, { ...t, ...change }]]) });
    return { what: `task ${t.id} ${JSON.stringify(change)}` };
  }
  if (roll < 0.78) {
    // A redeploy: the same tasks under a new App, with other ports, or as a Habitat app (another
    // ring, the ring label dropped, Habitat ports added or taken away).
    const s = someApp();
    const change = rnd();
    const version = `v${world.taskCounter}`;
    const mode = s.app.networkMode;
    const a: App =
      change < 0.4
        ? { ...s.app, ports: randomPorts(rnd, mode), version }
        : change < 0.7
          ? { ...s.app, labels: habitatLabels(rnd), version }
          : change < 0.85
            ? { ...s.app, labels: { HAPROXY_GROUP: 'external' }, version }
            : { ...s.app, ports: habitatPorts(rnd, mode), version };
    world.apps.set(a.id, { app: a, tasks: s.tasks });
    return { what: `redeploy ${a.id} ${JSON.stringify(a.labels)} ${a.ports.map((p) => p.name).join(',')}` };
  }
  if (roll < 0.86) {
    const host = pick(rnd, AGENTS.filter((h) => isIP(h) === 0));
    const ips = rnd() < 0.2 ? [] : rnd() < 0.3 ? [`10.2.0.${Math.floor(rnd() * 5)}`, 'fd00::99'] : [`10.2.0.${Math.floor(rnd() * 5)}`];
    if (ips.length === 0) world.resolved.delete(host);
    else world.resolved.set(host, ips);
    return { what: `resolve ${host} ${ips.join(',')}`, hosts: [host] };
  }
  if (roll < 0.97) {
    const leader = pick(rnd, ['10.0.0.9:8080', 'agent-3.example.com:8080', '[fd00::9]:8443', 'nowhere.example.com:8080', undefined]);
    const mesos = pick(rnd, ['http://10.0.0.8:5050/', 'http://agent-4.example.com:5050', 'https://[fd00::8]/', undefined]);
    world.info = { frameworkName: world.info?.frameworkName ?? 'marathon', frameworkId: undefined, marathonVersion: undefined, marathonLeader: leader, mesosLeaderUiUrl: mesos };
    return { what: `leaders ${leader} ${mesos}` };
  }
  const frameworkName = pick(rnd, ['marathon', 'marathon-user', 'Prod.Marathon']);
  world.info = { ...(world.info ?? { frameworkId: undefined, marathonVersion: undefined, marathonLeader: undefined, mesosLeaderUiUrl: undefined }), frameworkName };
  return { what: `framework ${frameworkName}` };
}

/**
 * Returns how many steps served Habitat ring names (so that a run that never had any is noticed).
 * `sliced`: the world starts with 40 random apps and two of more than TASK_CHUNK tasks, built in
 * slices of one unit of work each, with agent names resolving during the build and after its
 * last step, before the random changes.
 */
function runSequence(seed: number, steps: number, ipSources: readonly IpSource[], sliced = false): number {
  const rnd = random(seed);
  const world: World = { apps: new Map(), info: undefined, resolved: new Map([['agent-3.example.com', ['10.0.0.3']]]), serial: 100, taskCounter: 0 };
  const lookup: HostLookup = (host) => (isIP(host) !== 0 ? [host] : world.resolved.get(host));
  const options = { domain: 'mesos', ipSources, nsAddresses: ['10.9.9.9', 'fd00::53'] };
  // As the HostCache: a host is held from its first lookup until it is released.
  const held = new Set<string>();
  const heldLookup: HostLookup = (host) => {
    held.add(host);
    return lookup(host);
  };
  const live = new LiveRecords({ ...options, ttl: TTL }, heldLookup, (host) => held.delete(host));
  const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
  const answerer = new Answerer({ domain: 'mesos', forwarding: false });
  const reference = new Answerer({ domain: 'mesos', forwarding: false });
  let table: RoutingTable = builder.build({ apps: world.apps, info: world.info }).table;
  if (sliced) {
    for (let i = 0; i < 40; i++) {
      const s = randomApp(world, rnd);
      world.apps.set(s.app.id, s);
    }
    for (const [id, habitat] of [['/big/web', false], ['/big/hab', true]] as const) {
      const a = habitat ? app(id, { ports: habitatPorts(rnd, 'host'), labels: habitatLabels(rnd) }) : app(id, { ports: randomPorts(rnd, 'host') });
      const tasks = Array.from({ length: TASK_CHUNK + 17 }, () => randomTask(world, rnd, a));
      world.apps.set(id, { app: a, tasks: new Map(tasks.map((t) => [t.id, t])) });
    }
    world.info = { frameworkName: 'marathon', frameworkId: undefined, marathonVersion: undefined, marathonLeader: 'agent-4.example.com:8080', mesosLeaderUiUrl: 'http://agent-5.example.com:5050' };
    table = builder.build({ apps: new Map(world.apps), info: world.info }).table;
    const build = live.build(table);
    expect(() => live.apply(table, world.serial)).toThrow(/full build/);
    const resolve = (host: string, ips: string[]) => {
      world.resolved.set(host, ips);
      build.hostsChanged([host]);
    };
    // step(0): one unit of work per step (an app, a part of a big app, a chunk of names).
    let units = 0;
    while (!build.step(0)) {
      units++;
      if (units === 10) resolve('agent-4.example.com', ['10.2.0.4']);
      if (units === 25) resolve('agent-3.example.com', ['10.2.0.33', 'fd00::33']);
    }
    // Done, not yet finished: a name that resolves now is still taken.
    resolve('agent-5.example.com', ['10.2.0.5']);
    while (!build.step(0)) units++;
    expect(build.finish(world.serial).rebuilt).toBe(true);
    expect(units).toBeGreaterThan(table.apps.length + 4);
  } else live.apply(table, world.serial);
  let ringSteps = 0;
  for (let step = sliced ? -1 : 0; step < steps; step++) {
    let label = `seed ${seed} after the sliced build`;
    if (step >= 0) {
      const change = mutate(world, rnd);
      world.serial++;
      if (change.hosts) live.hostsChanged(change.hosts, world.serial);
      else {
        table = builder.build({ apps: new Map(world.apps), info: world.info }).table;
        live.apply(table, world.serial);
      }
      label = `seed ${seed} step ${step} (${change.what})`;
    }
    const records = buildRecords(table, options, lookup);
    const scratch = buildZone(records, { ttl: TTL, serial: world.serial });
    if ([...records.names.keys()].some((name) => name.endsWith('.habitat.mesos'))) ringSteps++;
    expectSameZone(live.zone, scratch, label);
    // `/v1` reads the live records.
    const liveRecords = live.records();
    expect(sortedRecords(liveRecords), label).toEqual(sortedRecords(records));
    expect(liveRecords.names.size, label).toBe(records.names.size);
    expect(liveRecords.tasks, label).toEqual(records.tasks);
    expect(liveRecords.frameworkName, label).toBe(records.frameworkName);
    // And the query path over both, for a few names.
    if (step % 10 === 0) {
      answerer.setZone(live.zone);
      reference.setZone(scratch);
      const names = [...records.names.keys()];
      for (let i = 0; i < 8 && names.length > 0; i++) {
        const name = pick(rnd, names);
        for (const qtype of [TYPE.A, TYPE.SRV, TYPE.ANY]) expect(ask(answerer, name, qtype), `${label}: ${name}`).toEqual(ask(reference, name, qtype));
      }
      expect(ask(answerer, 'nope.marathon.mesos', TYPE.A)).toEqual(ask(reference, 'nope.marathon.mesos', TYPE.A));
    }
    // The hosts held are exactly those in use: the agents of live tasks, and the leaders.
    const inUse = new Set<string>();
    for (const a of table.apps) for (const t of a.tasks) inUse.add(t.host);
    if (table.cluster?.marathonLeader) inUse.add(splitHostPort(table.cluster.marathonLeader).host);
    const mesos = mesosLeader(table.cluster?.mesosLeaderUiUrl);
    if (mesos) inUse.add(mesos.host);
    expect([...held].sort(), label).toEqual([...inUse].sort());
  }
  return ringSteps;
}

describe('the live zone', () => {
  it('answers like a zone built from scratch through random table changes (netinfo, host)', () => {
    for (const seed of [1, 2, 3]) expect(runSequence(seed, 150, ['netinfo', 'host'])).toBeGreaterThan(50);
  });

  it('answers like a zone built from scratch with the agents first (host, netinfo)', () => {
    for (const seed of [11, 12]) expect(runSequence(seed, 150, ['host', 'netinfo'])).toBeGreaterThan(50);
  });

  it('answers like a zone built from scratch after a full build in slices, agent names resolving meanwhile', () => {
    expect(runSequence(21, 10, ['netinfo', 'host'], true)).toBeGreaterThan(5);
    expect(runSequence(22, 10, ['host', 'netinfo'], true)).toBeGreaterThan(5);
  });
});

describe('the cost of a change', () => {
  const options = { domain: 'mesos', ipSources: ['netinfo', 'host'] as IpSource[], nsAddresses: ['10.9.9.9'], ttl: TTL };
  const lookup: HostLookup = (host) => [host];
  const states = (n: number) =>
    new Map(
      Array.from({ length: n }, (_, i) => {
        const id = `/g${i % 5}/app${i}`;
        const a = app(id, { ports: [port(0, 10000 + i, { name: 'http' })] });
        const tasks = [1, 2, 3].map((k) => task(id, i * 10 + k, { host: `10.0.0.${k}` }));
        return [id, { app: a, tasks: new Map(tasks.map((t) => [t.id, t])) }] as const;
      }),
    );

  it('re-derives only the app that changed, and re-encodes only its names', () => {
    const apps = states(50);
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const live = new LiveRecords(options, lookup);
    const first = live.apply(builder.build({ apps }).table, 1);
    expect(first.rebuilt).toBe(true);
    const zone = live.zone;
    const names = zone.names.size;
    expect(names).toBeGreaterThan(500);

    // One task of one app turns unhealthy: its T-H-S names go, T.F.D and its SRV names are redone.
    const s = apps.get('/g3/app13')!;
    const victim = [...s.tasks.values()][1]!;
    apps.set(s.app.id, { app: s.app, tasks: new Map([...s.tasks, [victim.id, { ...victim, health: 'unhealthy' as const }]]) });
    const update = live.apply(builder.build({ apps: new Map(apps) }).table, 2);
    expect(update).toEqual({ rebuilt: false, apps: 1, names: expect.any(Number) });
    expect(update.names).toBeLessThanOrEqual(16);
    expect(live.zone).toBe(zone);
    expect(zone.serial).toBe(2);

    // The same table again, or a table where nothing DNS serves changed: nothing to redo.
    expect(live.apply(builder.build({ apps: new Map(apps) }).table, 3)).toEqual({ rebuilt: false, apps: 0, names: 0 });

    // A new Mesos leader: only the leader's names.
    const info: ClusterInfo = { frameworkName: 'marathon', frameworkId: undefined, marathonVersion: undefined, marathonLeader: undefined, mesosLeaderUiUrl: 'http://10.0.0.8:5050/' };
    const leader = live.apply(builder.build({ apps: new Map(apps), info }).table, 4);
    expect(leader.apps).toBe(0);
    expect(leader.names).toBeLessThanOrEqual(5);
    expect(live.zone).toBe(zone);

    // A new framework name is in every name: everything is rebuilt, into a new zone.
    const renamed = live.apply(builder.build({ apps: new Map(apps), info: { ...info, frameworkName: 'other' } }).table, 5);
    expect(renamed.rebuilt).toBe(true);
    expect(live.zone).not.toBe(zone);
    expect(live.zone.names.has(keyOfName('app13-g3.other.mesos'))).toBe(true);
  });

  it('redoes the ring names only when a Habitat app changes, and by their difference', () => {
    const apps = states(30);
    const ringApp = app('/hab/redis', { labels: { HABITAT_RING: 'prod' }, ports: [port(0, 10100, { name: 'hab-gossip', protocols: ['udp', 'tcp'] })] });
    const members = [1, 2, 3].map((k) => task('/hab/redis', 900 + k, { host: `10.0.9.${k}`, ipAddresses: [`10.0.9.${k}`], ports: [31900 + k] }));
    apps.set(ringApp.id, { app: ringApp, tasks: new Map(members.map((t) => [t.id, t])) });
    // The same app outside Habitat (its port named otherwise), to tell its own names from the ring's.
    const twinApp = app('/hab/twin', { ports: [port(0, 10101, { name: 'gossip', protocols: ['udp', 'tcp'] })] });
    const twins = [1, 2, 3].map((k) => task('/hab/twin', 950 + k, { host: `10.0.9.${k}`, ipAddresses: [`10.0.8.${k}`], ports: [31950 + k] }));
    apps.set(twinApp.id, { app: twinApp, tasks: new Map(twins.map((t) => [t.id, t])) });
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const live = new LiveRecords(options, lookup);
    live.apply(builder.build({ apps }).table, 1);
    const names = live.records().names;
    const gossip = '_hab-gossip._prod._udp.habitat.mesos';
    expect(names.get('prod.habitat.mesos')?.a.slice().sort()).toEqual(['10.0.9.1', '10.0.9.2', '10.0.9.3']);
    expect(names.get(gossip)?.srv.map((s) => s.port).sort()).toEqual([31901, 31902, 31903]);
    const ringEntry = live.zone.names.get(keyOfName('prod.habitat.mesos'));

    // Another app's task turns unhealthy: the ring's names are not re-encoded.
    const other = apps.get('/g1/app11')!;
    const t = [...other.tasks.values()][0]!;
    apps.set(other.app.id, { app: other.app, tasks: new Map([...other.tasks, [t.id, { ...t, health: 'unhealthy' as const }]]) });
    const unrelated = live.apply(builder.build({ apps: new Map(apps) }).table, 2);
    expect(unrelated.apps).toBe(1);
    expect(unrelated.names).toBeLessThanOrEqual(16);
    expect(live.zone.names.get(keyOfName('prod.habitat.mesos'))).toBe(ringEntry);

    // A member turns unhealthy: it leaves the ring's names; only what changed is re-encoded: what
    // the same change costs outside Habitat, plus the ring's A, the member's name and three SRV names
    // (`_hab-http` too: host networking without a `hab-http` port lists the supervisor's default 9631).
    const twin = twins[1]!;
    apps.set(twinApp.id, { app: twinApp, tasks: new Map([...apps.get(twinApp.id)!.tasks, [twin.id, { ...twin, health: 'unhealthy' as const }]]) });
    const control = live.apply(builder.build({ apps: new Map(apps) }).table, 3);
    expect(control.apps).toBe(1);
    expect(live.zone.names.get(keyOfName('prod.habitat.mesos'))).toBe(ringEntry);
    const sick = members[1]!;
    apps.set(ringApp.id, { app: ringApp, tasks: new Map([...apps.get(ringApp.id)!.tasks, [sick.id, { ...sick, health: 'unhealthy' as const }]]) });
    const update = live.apply(builder.build({ apps: new Map(apps) }).table, 4);
    expect(update.apps).toBe(1);
    expect(update.names).toBe(control.names + 5);
    expect(names.get('prod.habitat.mesos')?.a.slice().sort()).toEqual(['10.0.9.1', '10.0.9.3']);
    expect(names.get(gossip)?.srv.map((s) => s.port).sort()).toEqual([31901, 31903]);

    // The app leaves the ring (label gone, no gossip port): its names go, the sub-zone with them.
    apps.set(ringApp.id, { app: { ...ringApp, labels: {}, ports: [port(0, 10100)], version: 'v2' }, tasks: apps.get(ringApp.id)!.tasks });
    live.apply(builder.build({ apps: new Map(apps) }).table, 5);
    expect([...names.keys()].filter((name) => name.endsWith('habitat.mesos'))).toEqual([]);
    expect(live.zone.names.has(keyOfName('habitat.mesos'))).toBe(false);
  });

  it('takes apps in any order (tables are sorted; a table that is not is sorted first)', () => {
    const apps = states(6);
    const table = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' }).build({ apps }).table;
    const live = new LiveRecords(options, lookup);
    live.apply({ ...table, apps: [...table.apps].reverse() }, 1);
    const sorted = new LiveRecords(options, lookup);
    sorted.apply(table, 1);
    expectSameZone(live.zone, sorted.zone, 'reversed');
    live.apply({ ...table, version: 2, apps: [...table.apps.slice(3), ...table.apps.slice(0, 2)] }, 2);
    sorted.apply({ ...table, version: 2, apps: [...table.apps.slice(0, 2), ...table.apps.slice(3)] }, 2);
    expectSameZone(live.zone, sorted.zone, 'shuffled, one removed');
  });
});

function keyOfName(name: string): string {
  return nameKey(name)!;
}
