/**
 * The DNS consumer in-process on loopback: zone swaps on apply (SOA serial), agent names resolved
 * in the background, forwarding failures, metrics.
 */
import { LOCAL_NETWORKS } from '../../src/config/options.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics/registry.ts';
import type { ClusterInfo } from '../../src/model/cluster.ts';
import { TableBuilder, type RoutingTable } from '../../src/model/routing-table.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { startDnsServer, type DnsConsumer, type DnsOptions } from '../../src/dns/server.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { freePort, parse, query, startUpstream, tcpExchange, udpExchange } from '../helpers/dns.ts';
import { app, appState, snapshotOf, task } from '../helpers/model-data.ts';
import { waitFor } from '../helpers/processes.ts';

const started: DnsConsumer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close(100)));
});

async function start(extra: Partial<DnsOptions> = {}, context: { resolveHost?: (h: string) => Promise<string[]>; forwardTimeoutMs?: number } = {}): Promise<{ dns: DnsConsumer; port: number; metrics: Metrics }> {
  const port = await freePort();
  const metrics = createMetrics({ processMetrics: false });
  const dns = await startDnsServer(
    { dnsBind: '127.0.0.1', dnsPort: port, dnsDomain: 'mesos', dnsTtlSeconds: 60, dnsResolvers: [], dnsForwardAllow: LOCAL_NETWORKS, dnsIpSources: ['netinfo', 'host'], dnsHttpPort: 0, ...extra },
    { logger: createLogger('silent'), metrics, ...context },
  );
  started.push(dns);
  return { dns, port, metrics };
}

function table(snapshot: Snapshot, builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' })): RoutingTable {
  return builder.build(snapshot).table;
}

const EMPTY_DIFF = { added: [], removed: [], changed: [], apps: [], cluster: false };

async function soaSerial(port: number): Promise<number> {
  const reply = await udpExchange(port, query('mesos', TYPE.SOA));
  return Number(parse(reply!).answers[0]?.serial);
}

describe('the DNS consumer', () => {
  it('answers SERVFAIL before the first table, then swaps zones with an increasing SOA serial', async () => {
    const { dns, port, metrics } = await start();
    expect((await udpExchange(port, query('web.marathon.mesos', TYPE.A)))!.readUInt16BE(2) & 0xf).toBe(2);
    const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
    const t1 = table(snapshotOf(appState(app('/web'), [task('/web', 1)])), builder);
    dns.apply(t1, EMPTY_DIFF);
    const s1 = await soaSerial(port);
    const answer = parse((await udpExchange(port, query('web.marathon.mesos', TYPE.A)))!);
    expect(answer.answers.map((r) => r.address)).toEqual(['10.0.1.1']);
    dns.apply(t1, EMPTY_DIFF); // the same table again: nothing to rebuild
    expect(await soaSerial(port)).toBe(s1);
    const t2 = table(snapshotOf(appState(app('/web'), [task('/web', 2)])), builder);
    dns.apply(t2, EMPTY_DIFF);
    const s2 = await soaSerial(port);
    expect(s2).toBeGreaterThan(s1);
    expect(parse((await tcpExchange(port, query('web.marathon.mesos', TYPE.A)))!).answers.map((r) => r.address)).toEqual(['10.0.1.2']);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/pacer_dns_answer_rebuilds_total\{trigger="table"\} 2/);
    expect(text).toMatch(/pacer_dns_queries_total\{qtype="A",rcode="NOERROR",transport="udp"\} 1/);
    expect(text).toMatch(/pacer_dns_queries_total\{qtype="A",rcode="SERVFAIL",transport="udp"\} 1/);
    expect(text).toMatch(/pacer_dns_queries_total\{qtype="SOA",rcode="NOERROR",transport="udp"\} 3/);
    expect(text).toMatch(/pacer_dns_queries_total\{qtype="A",rcode="NOERROR",transport="tcp"\} 1/);
  });

  it('resolves agent host names in the background and rebuilds when they resolve', async () => {
    let release: (ips: string[]) => void = () => {};
    const pending = new Promise<string[]>((resolve) => (release = resolve));
    const { dns, port } = await start({}, { resolveHost: () => pending });
    dns.apply(table(snapshotOf(appState(app('/web'), [task('/web', 1, { host: 'agent-1.example.com' })]))), EMPTY_DIFF);
    const before = parse((await udpExchange(port, query('web.marathon.slave.mesos', TYPE.A)))!);
    expect(before.header.rcode).toBe(3);
    release(['10.0.0.1']);
    await waitFor('the agent name to resolve', async () => {
      const reply = parse((await udpExchange(port, query('web.marathon.slave.mesos', TYPE.A)))!);
      return reply.answers[0]?.address === '10.0.0.1' ? true : undefined;
    });
  });

  it('serves the Mesos leader from /v2/info', async () => {
    const { dns, port } = await start();
    const info: ClusterInfo = { frameworkName: 'marathon', frameworkId: undefined, marathonVersion: undefined, marathonLeader: '10.0.0.9:8080', mesosLeaderUiUrl: 'http://10.0.0.8:5050/' };
    dns.apply(table({ ...snapshotOf(), info }), EMPTY_DIFF);
    expect(parse((await udpExchange(port, query('leader.mesos', TYPE.A)))!).answers.map((r) => r.address)).toEqual(['10.0.0.8']);
  });

  it('forwards to the resolvers in order, and answers SERVFAIL when all fail', async () => {
    const upstream = await startUpstream('192.0.2.1');
    const dead = await freePort();
    try {
      const { dns, port, metrics } = await start(
        { dnsResolvers: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: upstream.port }] },
        { forwardTimeoutMs: 200 },
      );
      dns.apply(table(snapshotOf()), EMPTY_DIFF);
      const reply = parse((await udpExchange(port, query('example.com', TYPE.A)))!);
      expect(reply.answers.map((r) => r.address)).toEqual(['192.0.2.1']);
      expect(parse((await tcpExchange(port, query('example.com', TYPE.A)))!).answers.map((r) => r.address)).toEqual(['192.0.2.1']);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/pacer_dns_forwarded_total\{result="ok"\} 2/);
      expect(text).toMatch(/pacer_dns_forwarded_total\{result="(timeout|error)"\} \d/);
    } finally {
      await upstream.close();
    }
    const { dns, port } = await start({ dnsResolvers: [{ host: '127.0.0.1', port: dead }] }, { forwardTimeoutMs: 200 });
    dns.apply(table(snapshotOf()), EMPTY_DIFF);
    expect((await udpExchange(port, query('example.com', TYPE.A)))!.readUInt16BE(2) & 0xf).toBe(2);
  });
});
