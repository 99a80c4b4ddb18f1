/**
 * The DNS consumer's sliced full build, in-process on loopback: a first table of 2,000 apps × 10
 * tasks is built in slices while the event loop goes on (timers fire, queries are answered
 * SERVFAIL, never NXDOMAIN; /v1 answers 503); a table and agent names that arrive during the build
 * end up in the zone it serves; a new framework name's zone is built while the previous one keeps
 * answering; small tables are applied at once.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NETWORKS } from '../../src/config/options.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import type { Task } from '../../src/model/app.ts';
import type { ClusterInfo } from '../../src/model/cluster.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import type { AppState } from '../../src/model/snapshot.ts';
import { buildRecords, type HostLookup } from '../../src/dns/names.ts';
import { BUILD_SLICING, startDnsServer, type DnsConsumer } from '../../src/dns/server.ts';
import { nameKey, TYPE } from '../../src/dns/wire.ts';
import { buildZone } from '../../src/dns/zone.ts';
import { freePort, parse, query, tcpExchange, udpExchange } from '../helpers/dns.ts';
import { app, appState, port as appPort, snapshotOf, task } from '../helpers/model-data.ts';
import { answerDigest } from './zone-compare.ts';

const APPS = 2_000;
const TASKS = 10;
const NAMED_AGENT = 'agent-a.example.com';
const EMPTY_DIFF = { added: [], removed: [], changed: [], apps: [], cluster: false };
const INFO: ClusterInfo = { frameworkName: 'marathon', frameworkId: undefined, marathonVersion: undefined, marathonLeader: '10.9.0.1:8080', mesosLeaderUiUrl: undefined };

const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
const agentIp = (n: number) => `10.0.${(n >> 8) & 255}.${n & 255}`;
/** Task n of app i: on one of 250 agents by IP, or (the first 10 apps) on an agent known by name only. */
const bigTask = (appId: string, i: number, n: number, extra: Partial<Task> = {}) =>
  task(appId, n, { host: i < 10 ? NAMED_AGENT : agentIp(n % 250), ipAddresses: [`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`], ports: [31000 + (n % 1000)], ...extra });

let apps: Map<string, AppState>;
let first: RoutingTable;

beforeAll(() => {
  apps = new Map();
  let n = 0;
  for (let i = 0; i < APPS; i++) {
    const id = `/g${i % 100}/app${i}`;
    apps.set(id, appState(app(id, { ports: [appPort(0, 10000 + i, { name: 'http' })] }), Array.from({ length: TASKS }, () => bigTask(id, i, ++n))));
  }
  first = builder.build({ apps, info: INFO }).table;
});

const started: DnsConsumer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close(100)));
});

interface Started {
  readonly dns: DnsConsumer;
  readonly port: number;
  readonly http: string;
  /** Let the agent name resolve (to 10.8.0.1). */
  readonly resolveAgent: () => void;
}

async function start(): Promise<Started> {
  const port = await freePort();
  const httpPort = await freePort();
  let resolveAgent = () => {};
  const agent = new Promise<string[]>((resolve) => (resolveAgent = () => resolve(['10.8.0.1'])));
  const dns = await startDnsServer(
    { dnsBind: '127.0.0.1', dnsPort: port, dnsDomain: 'mesos', dnsTtlSeconds: 60, dnsResolvers: [], dnsForwardAllow: LOCAL_NETWORKS, dnsIpSources: ['netinfo', 'host'], dnsHttpPort: httpPort, adminBind: '127.0.0.1' },
    { logger: createLogger('silent'), metrics: createMetrics({ processMetrics: false }), resolveHost: (host) => (host === NAMED_AGENT ? agent : Promise.resolve([])) },
  );
  started.push(dns);
  return { dns, port, http: `http://127.0.0.1:${httpPort}`, resolveAgent };
}

const rcode = (reply: Buffer | undefined) => (reply ? reply.readUInt16BE(2) & 0xf : -1);
const SERVFAIL = 2;
const NXDOMAIN = 3;
const addresses = async (port: number, name: string) => parse((await udpExchange(port, query(name, TYPE.A)))!).answers.map((r) => r.address).sort();
const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe('a big first zone build', () => {
  it('is done in slices: timers fire and queries get SERVFAIL (never NXDOMAIN) meanwhile, and it ends with the latest table and agent names', async () => {
    const { dns, port, http, resolveAgent } = await start();
    expect(APPS * TASKS).toBeGreaterThan(BUILD_SLICING.minTasks);
    // Before any table: SERVFAIL, and /v1 has nothing to say yet.
    expect(rcode(await udpExchange(port, query('app0-g0.marathon.mesos', TYPE.A)))).toBe(SERVFAIL);
    const before = await fetch(`${http}/v1/hosts/app0-g0.marathon.mesos`);
    expect(before.status).toBe(503);
    expect(before.headers.get('retry-after')).toBe('1');
    await before.arrayBuffer();

    // The event loop during the build: a 1 ms interval's ticks and its longest gap.
    let ticks = 0;
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 1);
    try {
      expect(dns.pending?.()).toBeUndefined();
      dns.apply(first, EMPTY_DIFF);
      expect(dns.building()).toBe(true);
      // /ready is 503 until the first zone answers (pacer.ts asks every consumer).
      expect(dns.pending?.()).toMatch(/first zone is being built/);
      last = performance.now();
      const ticksBefore = ticks;

      // Asked during the build: SERVFAIL for names that will exist, for names that will not, and for the apex; over UDP and TCP.
      const during = await Promise.all([
        udpExchange(port, query('app0-g0.marathon.mesos', TYPE.A)),
        udpExchange(port, query('nope.marathon.mesos', TYPE.A)),
        udpExchange(port, query('mesos', TYPE.SOA)),
        tcpExchange(port, query('_app1-g1._tcp.marathon.mesos', TYPE.SRV)),
      ]);
      const v1 = await fetch(`${http}/v1/axfr`);
      await v1.arrayBuffer();
      expect(dns.building(), 'the build was still under way when the replies came').toBe(true);
      expect(during.map(rcode)).toEqual([SERVFAIL, SERVFAIL, SERVFAIL, SERVFAIL]);
      expect(v1.status).toBe(503);

      // A newer table meanwhile (an app gone, a task killed, an app added), and the agent name resolving.
      const next = new Map(apps);
      next.delete('/g5/app5');
      const web = next.get('/g7/app7')!;
      const killed = [...web.tasks.values()][0]!;
      const tasks = new Map(web.tasks);
      tasks.delete(killed.id);
      next.set('/g7/app7', { app: web.app, tasks });
      next.set('/new/app', appState(app('/new/app', { ports: [appPort(0, 20000)] }), [bigTask('/new/app', APPS, 1_000_001)]));
      const second = builder.build({ apps: next, info: INFO }).table;
      dns.apply(second, EMPTY_DIFF);
      resolveAgent();
      for (let i = 0; i < 3; i++) await nextTick();
      expect(dns.building(), 'the agent name resolved during the build').toBe(true);

      await dns.ready();
      expect(dns.building()).toBe(false);
      expect(dns.pending?.()).toBeUndefined();
      expect(ticks - ticksBefore, 'the interval fired between slices').toBeGreaterThanOrEqual(10);
      expect(longestGap, 'the longest the event loop was blocked (ms)').toBeLessThan(1_000);

      // What it serves is the second table, with the agent's address, as a zone built at once from it.
      const zone = dns.zone()!;
      const lookup: HostLookup = (host) => (host === NAMED_AGENT ? ['10.8.0.1'] : [host]);
      const scratch = buildZone(buildRecords(second, { domain: 'mesos', ipSources: ['netinfo', 'host'], nsAddresses: ['127.0.0.1'] }, lookup), { ttl: 60, serial: zone.serial });
      expect(zone.recordCount).toBe(scratch.recordCount);
      expect(zone.names.size).toBe(scratch.names.size);
      const keys = [...scratch.names.keys()];
      for (let i = 0; i < keys.length; i += 41) {
        for (const qtype of [TYPE.A, TYPE.SRV, TYPE.ANY]) expect(answerDigest(zone, keys[i]!, qtype), JSON.stringify(keys[i])).toBe(answerDigest(scratch, keys[i]!, qtype));
      }
      for (const name of ['app7-g7.marathon.mesos', 'app0-g0.marathon.slave.mesos', 'slave.mesos', '_app3-g3._tcp.marathon.mesos', 'app-new.marathon.mesos']) {
        const key = nameKey(name)!;
        for (const qtype of [TYPE.A, TYPE.SRV]) expect(answerDigest(zone, key, qtype), name).toBe(answerDigest(scratch, key, qtype));
      }
      expect(await addresses(port, 'app0-g0.marathon.slave.mesos')).toEqual(['10.8.0.1']);
      expect(await addresses(port, 'app7-g7.marathon.mesos')).toHaveLength(TASKS - 1);
      expect(await addresses(port, 'app-new.marathon.mesos')).toHaveLength(1);
      expect(rcode(await udpExchange(port, query('app5-g5.marathon.mesos', TYPE.A)))).toBe(NXDOMAIN);
      const hosts = await fetch(`${http}/v1/hosts/app0-g0.marathon.slave.mesos`);
      expect(hosts.status).toBe(200);
      expect(await hosts.json()).toEqual([{ host: 'app0-g0.marathon.slave.mesos.', ip: '10.8.0.1' }]);
    } finally {
      clearInterval(timer);
    }
  });

  it('for a new framework name keeps answering from the zone it has until the new one is built', async () => {
    const { dns, port, http, resolveAgent } = await start();
    resolveAgent();
    dns.apply(first, EMPTY_DIFF);
    await dns.ready();
    expect(await addresses(port, 'app1-g1.marathon.mesos')).toHaveLength(TASKS);
    const renamed = builder.build({ apps, info: { ...INFO, frameworkName: 'marathon-user' } }).table;
    dns.apply(renamed, EMPTY_DIFF);
    expect(dns.building()).toBe(true);
    // The zone it has keeps answering: nothing for /ready to wait for.
    expect(dns.pending?.()).toBeUndefined();
    // The previous zone, whole, until the new one is swapped in.
    expect(await addresses(port, 'app1-g1.marathon.mesos')).toHaveLength(TASKS);
    expect(rcode(await udpExchange(port, query('app1-g1.marathon-user.mesos', TYPE.A)))).toBe(NXDOMAIN);
    const v1 = await fetch(`${http}/v1/hosts/app1-g1.marathon.mesos`);
    expect(((await v1.json()) as unknown[]).length).toBe(TASKS);
    expect(dns.building()).toBe(true);
    await dns.ready();
    expect(await addresses(port, 'app1-g1.marathon-user.mesos')).toHaveLength(TASKS);
    expect(rcode(await udpExchange(port, query('app1-g1.marathon.mesos', TYPE.A)))).toBe(NXDOMAIN);
  });

  it('is not sliced for a small table: answers at once after apply', async () => {
    const { dns, port } = await start();
    const small = builder.build(snapshotOf(appState(app('/web'), [task('/web', 1), task('/web', 2)]))).table;
    dns.apply(small, EMPTY_DIFF);
    expect(dns.building()).toBe(false);
    await dns.ready();
    expect(await addresses(port, 'web.marathon.mesos')).toEqual(['10.0.1.1', '10.0.1.2']);
  });
});
