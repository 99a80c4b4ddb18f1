/**
 * Mesos-DNS naming (reference §1) from Marathon-shaped fixtures in every networking mode, checked
 * against the rules, with Mesos-DNS's own test vectors for the sanitiser and the hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IpSource } from '../../src/config/options.ts';
import type { ClusterInfo } from '../../src/model/cluster.ts';
import { decodeAppList } from '../../src/model/decode.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import { EMPTY_SNAPSHOT, Tombstones, mergeFullFetch, type Snapshot } from '../../src/model/snapshot.ts';
import {
  agentSuffix,
  buildRecords,
  canonicalLabel,
  domainFrag,
  frameworkLabel,
  rfc1123Label,
  rfc952Label,
  taskHash,
  toHostname,
  type HostLookup,
  type RecordSet,
  zbase32,
} from '../../src/dns/names.ts';
import { app, appState, port, snapshotOf, task } from '../helpers/model-data.ts';
import { seededRandom } from '../helpers/random.ts';

const AGENTS: Record<string, string> = {
  'agent-1.example.com': '10.0.0.1',
  'agent-2.example.com': '10.0.0.2',
  'agent-5.example.com': '10.0.0.5',
  'agent-7.example.com': '10.0.0.7',
};
const lookup: HostLookup = (host) => (/^[\d.]+$/.test(host) ? [host] : AGENTS[host] !== undefined ? [AGENTS[host]] : undefined);

function fixtureSnapshot(file: string, info?: ClusterInfo): Snapshot {
  const json: unknown = JSON.parse(readFileSync(new URL(`../fixtures/marathon/${file}`, import.meta.url), 'utf8'));
  const decoded = decodeAppList(json);
  if (!decoded.ok) throw new Error(decoded.error);
  // As the sync engine does: terminal tasks leave the snapshot.
  return { ...mergeFullFetch(EMPTY_SNAPSHOT, decoded.value.apps, new Tombstones()), info };
}

function tableOf(snapshot: Snapshot): RoutingTable {
  return new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' }).build(snapshot).table;
}

function records(table: RoutingTable, ipSources: readonly IpSource[] = ['netinfo', 'host'], hosts: HostLookup = lookup): RecordSet {
  return buildRecords(table, { domain: 'mesos', ipSources, nsAddresses: ['10.9.9.9'] }, hosts);
}

function a(set: RecordSet, name: string): string[] {
  const r = set.names.get(name);
  return [...(r?.a ?? []), ...(r?.aaaa ?? [])].sort();
}

function srv(set: RecordSet, name: string): string[] {
  return (set.names.get(name)?.srv ?? []).map((s) => `${s.target}:${s.port}`).sort();
}

function sorted(list: string[]): string[] {
  return [...list].sort();
}

function taskIdOf(table: RoutingTable, appId: string, host: string): string {
  const t = table.apps.find((x) => x.appId === appId)?.tasks.find((x) => x.host === host);
  if (!t) throw new Error(`no task of ${appId} on ${host}`);
  return t.taskId;
}

describe('labels (records/labels in Mesos-DNS)', () => {
  it('sanitises like RFC1123 mode, with Mesos-DNS test vectors', () => {
    const cases: Record<string, string> = {
      '': '',
      a: 'a',
      '-': '',
      'a---': 'a',
      '---a---b': 'a---b',
      'a.b.c.d.e': 'a-b-c-d-e',
      'a.c.d_de.': 'a-c-d-de',
      '-abc123': 'abc123',
      'abc--123': 'abc--123',
      'r29f.dev.angrypigs': 'r29f-dev-angrypigs',
      '4abc123': '4abc123',
      'fd%gsf---gs7-f$gs--d7fddg-123': 'fdgsf---gs7-fgs--d7fddg-123',
      'fd%gsf---gs7-f$gs--d7fddg123456789012345678901234567890123456789-123': 'fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891',
      '%%fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789---123': 'fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891',
      '##fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-': 'fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789',
      [`hello${'-'.repeat(56)}f`]: `hello${'-'.repeat(56)}f`,
      [`hello${'-'.repeat(58)}f`]: 'hellof',
      'MiXeD Case_é!': 'mixedcase-',
    };
    cases['MiXeD Case_é!'] = 'mixedcase';
    for (const [input, want] of Object.entries(cases)) expect(rfc1123Label(input), input).toBe(want);
  });

  it('has the RFC 952 mode for reference', () => {
    expect(rfc952Label('4abc123')).toBe('abc123');
    expect(rfc952Label('chronos with a space AND MIXED CASE-2.0.1')).toBe('chronoswithaspaceandmixe');
  });

  it('builds framework names with DomainFrag', () => {
    expect(domainFrag('pod_123$abc.marathon-0.6.0-dev.mesos')).toBe('pod-123abc.marathon-0.6.0-dev.mesos');
    expect(domainFrag('MiXeDcase.CoM')).toBe('mixedcase.com');
    expect(domainFrag('a..c.e')).toBe('a.c.e');
    expect(domainFrag('(@ host . com')).toBe('host.com');
    expect(frameworkLabel(undefined)).toBe('marathon');
    expect(frameworkLabel('...')).toBe('marathon');
  });

  it('names Marathon tasks by PathId.toHostname (segments reversed)', () => {
    expect(toHostname('/prod/web')).toBe('web.prod');
    expect(toHostname('/q/logs/statsd')).toBe('statsd.logs.q');
    expect(rfc1123Label(toHostname('/q/logs/statsd'))).toBe('statsd-logs-q');
  });

  it('hashes task ids as Mesos-DNS does (first 5 of z-base-32 of SHA-1)', () => {
    expect(taskHash('test')).toBe('iffe9');
    expect(taskHash('liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5')).toBe('4dfjd');
    // The shortcut (the digest's first 25 bits) against the whole digest in z-base-32, for many ids (non-ASCII ones too).
    const reference = (id: string) => zbase32(createHash('sha1').update(id, 'utf8').digest()).slice(0, 5);
    const rnd = seededRandom(7);
    const ids = ['', 'a', 'é', '日本.task', '\u{1F600}x'];
    for (let i = 0; i < 5_000; i++) ids.push(Array.from({ length: 1 + Math.floor(rnd() * 60) }, () => String.fromCodePoint(rnd() < 0.9 ? 32 + Math.floor(rnd() * 95) : 160 + Math.floor(rnd() * 3000))).join(''));
    for (const id of ids) expect(taskHash(id), JSON.stringify(id)).toBe(reference(id));
  });

  it('takes the agent suffix after the last dash, lower-cased', () => {
    expect(agentSuffix('20140803-125133-3041283216-5050-2410-S1')).toBe('s1');
    expect(agentSuffix('S7')).toBe('s7');
  });

  it('keeps canonical labels within 63 characters', () => {
    expect(canonicalLabel('web-prod', 'abcde', 's0')).toBe('web-prod-abcde-s0');
    const long = canonicalLabel('a'.repeat(63), 'abcde', 's12');
    expect(long).toHaveLength(63);
    expect(long.endsWith('-abcde-s12')).toBe(true);
  });
});

describe('records from a table: host networking', () => {
  const table = tableOf(fixtureSnapshot('apps-host.json'));
  const set = records(table);
  const t1 = taskIdOf(table, '/prod/web/api', '10.0.1.23');
  const t3 = taskIdOf(table, '/prod/web/api', '10.0.1.25');
  const c1 = `api-web-prod-${taskHash(t1)}-s2`;
  const c3 = `api-web-prod-${taskHash(t3)}-s4`;

  it('serves T.F.D, T-H-S.F.D and the .slave names for routable tasks only', () => {
    expect(a(set, 'api-web-prod.marathon.mesos')).toEqual(['10.0.1.23', '10.0.1.25']);
    expect(a(set, `${c1}.marathon.mesos`)).toEqual(['10.0.1.23']);
    expect(a(set, 'api-web-prod.marathon.slave.mesos')).toEqual(['10.0.1.23', '10.0.1.25']);
    expect(a(set, `${c3}.marathon.slave.mesos`)).toEqual(['10.0.1.25']);
    // The task on 10.0.1.24 has no health result yet: unknown is not healthy, so no records.
    const t2 = taskIdOf(table, '/prod/web/api', '10.0.1.24');
    expect(a(set, `api-web-prod-${taskHash(t2)}-s3.marathon.mesos`)).toEqual([]);
    expect([...set.names.keys()].filter((n) => n.includes(taskHash(t2)))).toEqual([]);
    expect(JSON.stringify(set.names.get('api-web-prod.marathon.slave.mesos'))).not.toContain('10.0.1.24');
  });

  it('serves the legacy dotted names from the raw task name too', () => {
    expect(a(set, 'api.web.prod.marathon.mesos')).toEqual(['10.0.1.23', '10.0.1.25']);
    expect(srv(set, '_api.web.prod._tcp.marathon.mesos')).toEqual(sorted([
      `api.web.prod-${taskHash(t1)}-s2.marathon.mesos:31512`,
      `api.web.prod-${taskHash(t1)}-s2.marathon.mesos:31513`,
      `api.web.prod-${taskHash(t3)}-s4.marathon.mesos:31600`,
    ]));
    expect(srv(set, '_http._api.web.prod._tcp.marathon.mesos')).toHaveLength(2);
  });

  it('serves DiscoveryInfo SRV records (host ports) and named-port SRV records', () => {
    expect(srv(set, '_api-web-prod._tcp.marathon.mesos')).toEqual(sorted([
      `${c1}.marathon.mesos:31512`,
      `${c1}.marathon.mesos:31513`,
      `${c3}.marathon.mesos:31600`,
    ]));
    expect(srv(set, '_http._api-web-prod._tcp.marathon.mesos')).toEqual(sorted([`${c1}.marathon.mesos:31512`, `${c3}.marathon.mesos:31600`]));
    expect(srv(set, '_admin._api-web-prod._tcp.marathon.mesos')).toEqual(sorted([`${c1}.marathon.mesos:31513`]));
    expect(srv(set, '_api-web-prod._udp.marathon.mesos')).toEqual(sorted([]));
  });

  it('serves .slave SRV records for every host port over tcp and udp', () => {
    const want = [`${c1}.marathon.slave.mesos:31512`, `${c1}.marathon.slave.mesos:31513`, `${c3}.marathon.slave.mesos:31600`];
    expect(srv(set, '_api-web-prod._tcp.marathon.slave.mesos')).toEqual(sorted(want));
    expect(srv(set, '_api-web-prod._udp.marathon.slave.mesos')).toEqual(sorted(want));
  });

  it('splits udp,tcp ports into both protocols, named too', () => {
    const fixed = taskIdOf(table, '/infra/fixed', 'agent-7.example.com');
    const target = `fixed-infra-${taskHash(fixed)}-s7.marathon.mesos`;
    expect(srv(set, '_fixed-infra._udp.marathon.mesos')).toEqual(sorted([`${target}:3000`]));
    expect(srv(set, '_mon._fixed-infra._udp.marathon.mesos')).toEqual(sorted([`${target}:3000`]));
    expect(srv(set, '_mon._fixed-infra._tcp.marathon.mesos')).toEqual(sorted([`${target}:3000`]));
    expect(srv(set, '_fixed-infra._tcp.marathon.mesos')).toEqual(sorted([`${target}:2001`, `${target}:2002`, `${target}:3000`]));
  });

  it('resolves agent host names through the cache, and leaves them out until resolved', () => {
    expect(a(set, 'fixed-infra.marathon.slave.mesos')).toEqual(['10.0.0.7']);
    expect(a(set, 'fixed-infra.marathon.mesos')).toEqual(['10.0.2.7']);
    const unresolved = records(table, ['netinfo', 'host'], (h) => (/^[\d.]+$/.test(h) ? [h] : undefined));
    expect(a(unresolved, 'fixed-infra.marathon.slave.mesos')).toEqual([]);
    expect(JSON.stringify([...unresolved.names.values()])).not.toContain('example.com"');
  });

  it('takes task IPs from the first IP source that has any', () => {
    const hostFirst = records(table, ['host', 'netinfo']);
    expect(a(hostFirst, 'fixed-infra.marathon.mesos')).toEqual(['10.0.0.7']);
    const netinfoOnly = records(table, ['netinfo']);
    const noNetinfo = tableOf(snapshotOf(appState(app('/bare'), [task('/bare', 1, { ipAddresses: [] })])));
    expect(a(records(noNetinfo, ['netinfo']), 'bare.marathon.mesos')).toEqual([]);
    expect(a(records(noNetinfo, ['netinfo']), 'bare.marathon.slave.mesos')).toEqual(['10.0.1.1']);
    expect(a(records(noNetinfo, ['mesos', 'docker', 'host']), 'bare.marathon.mesos')).toEqual(['10.0.1.1']);
    expect(a(netinfoOnly, 'api-web-prod.marathon.mesos')).toEqual(['10.0.1.23', '10.0.1.25']);
  });

  it('serves agents: slave.D and _slave._tcp.D', () => {
    expect(a(set, 'slave.mesos')).toEqual(['10.0.0.7', '10.0.1.23', '10.0.1.24', '10.0.1.25']);
    expect(srv(set, '_slave._tcp.mesos')).toEqual(sorted(['slave.mesos:5051']));
    expect(a(set, 'ns1.mesos')).toEqual(['10.9.9.9']);
  });
});

describe('records from a table: container networking', () => {
  it('bridge: DiscoveryInfo ports are the host ports; T.F.D is the netinfo (bridge) IP', () => {
    const table = tableOf(fixtureSnapshot('apps-bridge.json'));
    const set = records(table);
    const id = taskIdOf(table, '/prod/nginx', 'agent-1.example.com');
    const c = `nginx-prod-${taskHash(id)}-s1`;
    expect(a(set, 'nginx-prod.marathon.mesos')).toEqual(['172.17.0.5']);
    expect(a(records(table, ['host', 'netinfo']), 'nginx-prod.marathon.mesos')).toEqual(['10.0.0.1']);
    expect(a(set, `${c}.marathon.slave.mesos`)).toEqual(['10.0.0.1']);
    expect(srv(set, '_nginx-prod._tcp.marathon.mesos')).toEqual(sorted([
      `${c}.marathon.mesos:31001`,
      `${c}.marathon.mesos:31002`,
      `${c}.marathon.mesos:31003`,
      `${c}.marathon.mesos:8081`,
    ]));
    expect(srv(set, '_nginx-prod._udp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:31003`]));
    expect(srv(set, '_dns._nginx-prod._udp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:31003`]));
    expect(srv(set, '_admin._nginx-prod._tcp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:8081`]));
    expect(srv(set, '_nginx-prod._udp.marathon.slave.mesos')).toHaveLength(4);
  });

  it('IP-per-task: container ports, task IPs, and no .slave SRV', () => {
    const table = tableOf(fixtureSnapshot('apps-container.json'));
    const set = records(table);
    const grpc = taskIdOf(table, '/prod/grpc', 'agent-2.example.com');
    const c = `grpc-prod-${taskHash(grpc)}-s2`;
    expect(a(set, 'grpc-prod.marathon.mesos')).toEqual(['9.0.1.17']);
    expect(srv(set, '_grpc-prod._tcp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:8080`]));
    expect(srv(set, '_grpc._grpc-prod._tcp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:8080`]));
    expect(srv(set, '_grpc-prod._tcp.marathon.slave.mesos')).toEqual(sorted([]));
    // The staging task has no records.
    expect(set.tasks.filter((t) => t.name === 'grpc.prod')).toHaveLength(1);
  });

  it('mixed mappings: host port where there is one, else the container port', () => {
    const table = tableOf(fixtureSnapshot('apps-container.json'));
    const set = records(table);
    const id = taskIdOf(table, '/prod/mixed', '10.0.1.30');
    const c = `mixed-prod-${taskHash(id)}-s4`;
    expect(srv(set, '_mixed-prod._tcp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:31100`, `${c}.marathon.mesos:31101`, `${c}.marathon.mesos:9000`]));
    expect(srv(set, '_internal._mixed-prod._tcp.marathon.mesos')).toEqual(sorted([`${c}.marathon.mesos:9000`]));
    expect(srv(set, '_mixed-prod._tcp.marathon.slave.mesos')).toEqual(sorted([`${c}.marathon.slave.mesos:31100`, `${c}.marathon.slave.mesos:31101`]));
    expect(a(set, 'mixed-prod.marathon.mesos')).toEqual(['9.0.2.5']);
    const multi = taskIdOf(table, '/prod/multi', 'agent-5.example.com');
    expect(srv(set, '_admin._multi-prod._udp.marathon.mesos')).toEqual(sorted([`multi-prod-${taskHash(multi)}-s5.marathon.mesos:81`]));
    expect(a(set, 'multi-prod.marathon.mesos')).toEqual(['9.0.3.8', '9.1.3.8']);
  });

  it('legacy (pre-1.5) apps get the same names', () => {
    const table = tableOf(fixtureSnapshot('apps-legacy.json'));
    const set = records(table);
    expect(a(set, 'ippertask-legacy.marathon.mesos')).toEqual(['10.200.1.9']);
    expect(a(set, 'ports-legacy.marathon.slave.mesos')).toEqual([]); // srv4.example.com is not resolvable here
    expect(srv(set, '_ports-legacy._tcp.marathon.mesos')).toHaveLength(2);
  });
});

describe('records from a table: groups, odd names, cluster records', () => {
  it('deep groups, characters that need sanitising and names longer than 63', () => {
    const long = 'a'.repeat(70);
    const table = tableOf(
      snapshotOf(
        appState(app('/q/logs/statsd', { ports: [port(0, 10001, { name: 'HTTP Api_v2!' })] }), [task('/q/logs/statsd', 1)]),
        appState(app(`/${long}`), [task(`/${long}`, 2)]),
        appState(app('/my_app.v2/web'), [task('/my_app.v2/web', 3)]),
      ),
    );
    const set = records(table);
    expect(a(set, 'statsd-logs-q.marathon.mesos')).toEqual(['10.0.1.1']);
    expect(a(set, 'statsd.logs.q.marathon.mesos')).toEqual(['10.0.1.1']);
    expect(srv(set, '_httpapi-v2._statsd-logs-q._tcp.marathon.mesos')).toHaveLength(1);
    expect(a(set, 'web-my-app-v2.marathon.mesos')).toEqual(['10.0.1.3']);
    expect(a(set, `${'a'.repeat(63)}.marathon.mesos`)).toEqual(['10.0.1.2']);
    // `_T` would be a 64-character label: no DNS name can carry it (Mesos-DNS's names are unaskable too).
    expect(srv(set, `_${'a'.repeat(63)}._tcp.marathon.mesos`)).toEqual([]);
    const canonical = [...set.names.keys()].find((n) => n.startsWith('a'.repeat(54)) && n.endsWith('-s2.marathon.mesos'));
    expect(canonical?.split('.')[0]).toHaveLength(63);
    expect(a(set, canonical ?? '')).toEqual(['10.0.1.2']);
    for (const name of set.names.keys()) for (const l of name.split('.')) expect(l.length, name).toBeLessThanOrEqual(63);
  });

  it('serves leader, master, master0 and Marathon framework records from /v2/info', () => {
    const info: ClusterInfo = {
      frameworkName: 'marathon',
      frameworkId: 'f-1',
      marathonVersion: '1.10.17',
      marathonLeader: '10.0.0.9:8080',
      mesosLeaderUiUrl: 'http://10.0.0.1:5050/',
    };
    const set = records(tableOf({ ...snapshotOf(appState(app('/web'), [task('/web', 1)])), info }));
    expect(a(set, 'leader.mesos')).toEqual(['10.0.0.1']);
    expect(a(set, 'master.mesos')).toEqual(['10.0.0.1']);
    expect(a(set, 'master0.mesos')).toEqual(['10.0.0.1']);
    expect(srv(set, '_leader._tcp.mesos')).toEqual(sorted(['leader.mesos:5050']));
    expect(srv(set, '_leader._udp.mesos')).toEqual(sorted(['leader.mesos:5050']));
    expect(a(set, 'marathon.mesos')).toEqual(['10.0.0.9']);
    expect(srv(set, '_framework._tcp.marathon.mesos')).toEqual(sorted(['marathon.mesos:8080']));
  });

  it('uses the framework name through DomainFrag', () => {
    const info: ClusterInfo = { frameworkName: 'Marathon.Prod', frameworkId: undefined, marathonVersion: undefined, marathonLeader: undefined, mesosLeaderUiUrl: undefined };
    const set = records(tableOf({ ...snapshotOf(appState(app('/web'), [task('/web', 1)])), info }));
    expect(a(set, 'web.marathon.prod.mesos')).toEqual(['10.0.1.1']);
    expect(set.frameworkName).toBe('Marathon.Prod');
  });

  it('leaves out tasks that are not running or not healthy', () => {
    const table = tableOf(
      snapshotOf(
        appState(app('/web'), [
          task('/web', 1, { state: 'TASK_KILLING' }),
          task('/web', 2, { state: 'TASK_STAGING' }),
          task('/web', 3, { state: 'TASK_UNREACHABLE' }),
        ]),
      ),
    );
    const set = records(table);
    expect(a(set, 'web.marathon.mesos')).toEqual([]);
    expect(set.tasks).toEqual([]);
  });
});
