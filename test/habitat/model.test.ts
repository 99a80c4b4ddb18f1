/** Detection, validation, ring membership and order, peer files and ring-wide DNS records, on plain data. */
import { describe, expect, it } from 'vitest';
import type { App, Task } from '../../src/model/app.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import { detectHabitat, isSupervisorCommand } from '../../src/habitat/detect.ts';
import { buildRings, peerFile } from '../../src/habitat/rings.ts';
import { ringDnsRecords } from '../../src/habitat/dns.ts';
import { validateHabitatApp } from '../../src/habitat/validate.ts';
import { app, appState, port, snapshotOf, task } from '../helpers/model-data.ts';

const GOSSIP = port(0, 10100, { name: 'hab-gossip', protocols: ['udp', 'tcp'] });
const HTTP = port(1, 10101, { name: 'hab-http' });

function hab(id: string, extra: Partial<App> = {}): App {
  return app(id, { labels: { HABITAT_RING: 'prod' }, ports: [GOSSIP, HTTP], cmd: 'hab sup run core/redis', ...extra });
}

function tableOf(entries: [App, Task[]][], groups: string[] = ['external']): RoutingTable {
  const builder = new TableBuilder({ groups, strictMode: false, healthCheck: true, bind: '0.0.0.0' });
  return builder.build(snapshotOf(...entries.map(([a, ts]) => appState(a, ts)))).table;
}

function entryOf(a: App, ts: Task[] = []) {
  const table = tableOf([[a, ts]]);
  return { table, entry: table.apps[0]! };
}

describe('detection', () => {
  it('reads HABITAT_RING and HABITAT_PERMANENT_PEER', () => {
    const h = detectHabitat(hab('/prod/redis', { labels: { HABITAT_RING: 'prod', HABITAT_PERMANENT_PEER: 'true' } }));
    expect(h).toMatchObject({ ring: 'prod', detection: 'label', labelled: true, permanent: true });
    expect(h?.gossipPort?.index).toBe(0);
    expect(h?.httpPort?.index).toBe(1);
    expect(detectHabitat(hab('/prod/redis'))?.permanent).toBe(false);
  });

  it('falls back to a hab-gossip port, then to the supervisor command, in ring default, unlabelled', () => {
    expect(detectHabitat(hab('/a', { labels: {}, cmd: './run' }))).toMatchObject({ ring: 'default', detection: 'port', labelled: false });
    expect(detectHabitat(app('/b', { labels: {}, cmd: 'exec hab sup run --peer x core/nginx' }))).toMatchObject({ ring: 'default', detection: 'command', labelled: false, gossipPort: undefined });
    expect(detectHabitat(app('/c', { labels: {}, cmd: '/usr/sbin/chroot . ./init.sh start core/redis' }))?.detection).toBe('command');
    expect(detectHabitat(app('/d', { labels: {}, cmd: undefined, args: ['hab', 'sup', 'run', 'core/redis'] }))?.detection).toBe('command');
  });

  it('ignores apps that do not run a supervisor', () => {
    expect(detectHabitat(app('/web'))).toBeUndefined();
    expect(detectHabitat(app('/web', { cmd: 'echo hab sup' }))).toBeUndefined();
    expect(isSupervisorCommand({ cmd: 'habitat-sup run', args: [] })).toBe(false);
    expect(detectHabitat(app('/web', { labels: { HABITAT_RING: '  ' } }))).toBeUndefined();
  });

  it('finds the gossip and HTTP ports by their default numbers when they are not named', () => {
    const bridge = app('/x', {
      labels: { HABITAT_RING: 'r' },
      networkMode: 'container/bridge',
      ports: [port(0, 0, { containerPort: 8080 }), port(1, 0, { containerPort: 9631 }), port(2, 0, { containerPort: 9638, protocols: ['udp', 'tcp'] })],
    });
    expect(detectHabitat(bridge)).toMatchObject({ gossipPort: { index: 2 }, httpPort: { index: 1 } });
    const host = app('/y', { labels: { HABITAT_RING: 'r' }, requirePorts: true, ports: [port(0, 9638, { protocols: ['udp', 'tcp'] })] });
    expect(detectHabitat(host)?.gossipPort?.index).toBe(0);
    expect(detectHabitat({ ...host, requirePorts: false })?.gossipPort).toBeUndefined();
  });
});

describe('validation', () => {
  const reasons = (a: App, ts: Task[] = [], groups: string[] = []) => {
    const table = tableOf([[a, ts]], groups);
    return validateHabitatApp(table.apps[0]!, detectHabitat(a)!, table.services).map((p) => `${p.reason}:${p.severity}`);
  };

  it('accepts the app contract: host networking, hab-gossip udp,tcp, labelled', () => {
    expect(reasons(hab('/ok'), [task('/ok', 1, { ports: [31001, 31002] })])).toEqual([]);
  });

  it('rejects a bridge-mode gossip port whose host port differs from the container port', () => {
    const a = hab('/br', { networkMode: 'container/bridge', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 9638 })] });
    expect(reasons(a, [task('/br', 1, { ports: [31005] })])).toEqual(['gossip_port_remapped:error']);
    expect(reasons(a, [task('/br', 1, { ports: [9638] })])).toEqual([]);
    // containerPort 0: the container uses the host port itself.
    const same = hab('/br', { networkMode: 'container/bridge', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 0 })] });
    expect(reasons(same, [task('/br', 1, { ports: [31005] })])).toEqual([]);
    const { table, entry } = entryOf(a, [task('/br', 1, { ports: [31005] })]);
    expect(validateHabitatApp(entry, detectHabitat(a)!, table.services)[0]?.message).toMatch(/container port 9638, host port 31005/);
  });

  it('reports a gossip port declared on one protocol only', () => {
    expect(reasons(hab('/udp', { ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp'] })] }))).toEqual(['gossip_single_protocol:warning']);
    expect(reasons(hab('/tcp', { ports: [port(0, 0, { name: 'hab-gossip', protocols: ['tcp'] })] }))).toEqual(['gossip_single_protocol:warning']);
  });

  it('reports a missing gossip port: an error in bridge mode, a warning in host mode, fine with IP-per-task', () => {
    expect(reasons(hab('/h', { ports: [port(0, 0, { name: 'http' })] }))).toEqual(['gossip_port_missing:warning']);
    expect(reasons(hab('/b', { networkMode: 'container/bridge', ports: [port(0, 0, { containerPort: 80 })] }))).toEqual(['gossip_port_missing:error']);
    expect(reasons(hab('/c', { networkMode: 'container', ports: [] }))).toEqual([]);
  });

  it('reports a gossip port exposed through the proxy', () => {
    expect(reasons(hab('/p', { labels: { HABITAT_RING: 'prod', HAPROXY_GROUP: 'external' } }), [], ['external'])).toEqual(['gossip_port_proxied:warning']);
    expect(reasons(hab('/p', { labels: { HABITAT_RING: 'prod', HAPROXY_GROUP: 'external', HAPROXY_0_ENABLED: 'false' } }), [], ['external'])).toEqual([]);
  });

  it('reports unlabelled supervisors as a notice', () => {
    expect(reasons(app('/u', { labels: {}, cmd: 'hab sup run core/redis', ports: [GOSSIP] }))).toEqual(['unlabelled:info']);
  });
});

describe('rings', () => {
  const ring = (t: RoutingTable, name = 'prod') => buildRings(t).rings.find((r) => r.name === name);

  it('lists routable tasks only, permanent peers first, then by IP (numerically) and port', () => {
    const a = hab('/prod/redis');
    const bastion = hab('/prod/bastion', { labels: { HABITAT_RING: 'prod', HABITAT_PERMANENT_PEER: 'true' } });
    const t = tableOf([
      [
        a,
        [
          task('/prod/redis', 1, { ipAddresses: ['10.0.1.10'], ports: [31010, 31011] }),
          task('/prod/redis', 2, { ipAddresses: ['10.0.1.9'], ports: [31009, 31012] }),
          task('/prod/redis', 3, { ipAddresses: ['10.0.1.9'], ports: [31001, 31013] }),
          task('/prod/redis', 4, { ports: [31004, 31014], state: 'TASK_STAGING' }),
          task('/prod/redis', 5, { ports: [31005, 31015], state: 'TASK_KILLING' }),
        ],
      ],
      [bastion, [task('/prod/bastion', 6, { ipAddresses: ['10.0.2.200'], ports: [9638, 9631] })]],
    ]);
    const r = ring(t)!;
    expect(peerFile(r.members)).toBe('10.0.2.200:9638\n10.0.1.9:31001\n10.0.1.9:31009\n10.0.1.10:31010\n');
    expect(r.counts).toEqual({ healthy: 4, unhealthy: 2, excluded: 0 });
    expect(r.members[0]).toMatchObject({ app: '/prod/bastion', permanent: true, gossipPort: 9638, httpPort: 9631, healthy: true });
    expect(r.members[1]).toMatchObject({ app: '/prod/redis', ip: '10.0.1.9', gossipPort: 31001, httpPort: 31013, startedAt: '2021-09-20T10:15:09.440Z' });
    // The same ring from the tasks in another order: the same file.
    const shuffled = tableOf([
      [bastion, [task('/prod/bastion', 6, { ipAddresses: ['10.0.2.200'], ports: [9638, 9631] })]],
      [a, [3, 1, 2].map((n) => task('/prod/redis', n, { ipAddresses: [['10.0.1.10', '10.0.1.9', '10.0.1.9'][n - 1]!], ports: [[31010, 31009, 31001][n - 1]!, 31020] }))],
    ]);
    expect(peerFile(ring(shuffled)!.members)).toBe(peerFile(r.members));
  });

  it('leaves out unhealthy tasks and the tasks of misconfigured apps, and keeps an empty ring', () => {
    const checked = hab('/prod/redis', { healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: 1, port: undefined, path: '/services/redis/default/health', intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 3 }] });
    const remapped = hab('/prod/bridge', { networkMode: 'container/bridge', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 9638 })] });
    const t = tableOf([
      [checked, [task('/prod/redis', 1, { health: 'healthy', ports: [31001, 31002] }), task('/prod/redis', 2, { health: 'unhealthy', ports: [31003, 31004] }), task('/prod/redis', 3, { health: 'unknown', ports: [31005, 31006] })]],
      [remapped, [task('/prod/bridge', 4, { ports: [31007] })]],
      [hab('/dev/x', { labels: { HABITAT_RING: 'dev' } }), []],
    ]);
    const r = ring(t)!;
    expect(r.members.map((m) => m.taskId)).toEqual([task('/prod/redis', 1).id]);
    expect(r.counts).toEqual({ healthy: 1, unhealthy: 2, excluded: 1 });
    expect(r.problems.map((p) => p.reason)).toEqual(['gossip_port_remapped']);
    expect(peerFile(ring(t, 'dev')!.members)).toBe('');
  });

  it('uses the task IP and container port with IP-per-task networking, the agent and host port in bridge mode', () => {
    const ipPerTask = hab('/c', { networkMode: 'container', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 9638, hasHostPort: false })] });
    const bridge = hab('/b', { networkMode: 'container/bridge', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 9638 })] });
    const noPorts = hab('/d', { networkMode: 'container', ports: [] });
    const t = tableOf([
      [ipPerTask, [task('/c', 1, { ipAddresses: ['9.0.1.17'], ports: [] })]],
      [bridge, [task('/b', 2, { host: 'agent-2.example', ipAddresses: ['172.17.0.5'], ports: [9638] })]],
      [noPorts, [task('/d', 3, { ipAddresses: ['9.0.1.18'], ports: [] })]],
    ]);
    expect(peerFile(ring(t)!.members)).toBe('9.0.1.17:9638\n9.0.1.18:9638\nagent-2.example:9638\n');
  });
});

describe('ring-wide DNS records', () => {
  it('names the ring members under _hab-gossip._<ring>._udp/_tcp.habitat.<domain>, with A records matching the peer list', () => {
    const t = tableOf([
      [hab('/prod/redis', { labels: { HABITAT_RING: 'Prod_Ring' } }), [task('/prod/redis', 1, { ports: [31001, 31002] }), task('/prod/redis', 2, { ports: [31003, 31004], state: 'TASK_STARTING' })]],
    ]);
    const records = ringDnsRecords(t, 'mesos');
    const byName = new Map(records.map((r) => [r.name, r]));
    const udp = byName.get('_hab-gossip._prod-ring._udp.habitat.mesos');
    const tcp = byName.get('_hab-gossip._prod-ring._tcp.habitat.mesos');
    expect(udp?.srv).toHaveLength(1);
    expect(tcp?.srv).toEqual(udp?.srv);
    const target = udp!.srv[0]!;
    expect(target.port).toBe(31001);
    expect(target.target).toMatch(/^redis-prod-[a-z0-9]{5}-s2\.prod-ring\.habitat\.mesos$/);
    expect(byName.get(target.target)?.a).toEqual(['10.0.1.1']);
    expect(byName.get('prod-ring.habitat.mesos')?.a).toEqual(['10.0.1.1']);
    expect(byName.get('_hab-http._prod-ring._tcp.habitat.mesos')?.srv).toEqual([{ target: target.target, port: 31002 }]);
  });

  it('targets a host name directly, and has nothing for a ring without members', () => {
    const bridge = hab('/b', { networkMode: 'container/bridge', ports: [port(0, 0, { name: 'hab-gossip', protocols: ['udp', 'tcp'], containerPort: 9638 })] });
    const records = ringDnsRecords(tableOf([[bridge, [task('/b', 2, { host: 'Agent-2.example', ports: [9638] })]], [hab('/e', { labels: { HABITAT_RING: 'empty' } }), []]]), 'mesos.');
    expect(records.find((r) => r.name === '_hab-gossip._prod._udp.habitat.mesos')?.srv).toEqual([{ target: 'agent-2.example', port: 9638 }]);
    expect(records.some((r) => r.name.includes('empty'))).toBe(false);
  });
});
