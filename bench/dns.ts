/**
 * DNS bench: pacer's DNS server against NSD serving the same records. The emulator runs 200 apps
 * × 3 tasks (IP-per-task, so every task has its own address); pacer serves them; its `/v1/axfr`
 * (Mesos-DNS's zone dump) is written as an NSD zone file, and NSD (one server process, rate
 * limiting off, its own config/pid/zone files in a temp dir) serves that on another free loopback
 * port. dnsperf then loads each server in turn with the same query file, A names then SRV names,
 * in interleaved rounds (one dnsperf run per server and round).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, startPacer, waitFor } from '../test/helpers/processes.ts';
import { freePort, query } from '../test/helpers/dns.ts';
import { DNSPERF, NSD, log, median, run, started, startChild } from './lib.ts';
import type { Row } from './table.ts';
import { createSocket } from 'node:dgram';

export interface DnsOptions {
  readonly runs: number;
  readonly seconds: number;
  readonly apps?: number;
  readonly tasks?: number;
}

interface Axfr {
  readonly TTL: number;
  readonly Domain: string;
  readonly Records: { readonly As: Record<string, string[]>; readonly AAAAs: Record<string, string[]>; readonly SRVs: Record<string, string[]> };
}

/** An NSD zone file holding exactly the A/AAAA/SRV records of pacer's /v1/axfr. */
export function zoneFile(axfr: Axfr): string {
  const d = `${axfr.Domain}.`;
  const ttl = axfr.TTL;
  const lines = [
    `$ORIGIN ${d}`,
    `$TTL ${ttl}`,
    `@ IN SOA ns1.${d} root.ns1.${d} 1 60 600 86400 ${ttl}`,
    `@ IN NS ns1.${d}`,
  ];
  if (!axfr.Records.As[`ns1.${d}`]) lines.push(`ns1.${d} IN A 127.0.0.1`);
  for (const [name, ips] of Object.entries(axfr.Records.As)) for (const ip of ips) lines.push(`${name} IN A ${ip}`);
  for (const [name, ips] of Object.entries(axfr.Records.AAAAs)) for (const ip of ips) lines.push(`${name} IN AAAA ${ip}`);
  for (const [name, targets] of Object.entries(axfr.Records.SRVs)) {
    for (const t of targets) {
      const i = t.lastIndexOf(':');
      lines.push(`${name} IN SRV 0 1 ${t.slice(i + 1)} ${t.slice(0, i)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function nsdConfig(dir: string, port: number, zone: string, domain: string): string {
  return `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  pidfile: "${dir}/nsd.pid"
  xfrdfile: "${dir}/xfrd.state"
  zonelistfile: "${dir}/zone.list"
  logfile: "${dir}/nsd.log"
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: ${domain}
  zonefile: "${zone}"
`;
}

/** A query answered with NOERROR and at least one answer record by the server on `port`. */
function answered(port: number, name: string, type: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, 500);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve((msg[3]! & 0x0f) === 0 && msg.readUInt16BE(6) > 0 ? true : undefined);
    });
    socket.send(query(name, type), port, '127.0.0.1');
  });
}

function parseDnsperf(out: string): { qps: number; lost: number; completed: number } {
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? Number.NaN),
    completed: Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? Number.NaN),
  };
}

export async function dnsBench(o: DnsOptions): Promise<Row[]> {
  const APPS = o.apps ?? 200;
  const TASKS = o.tasks ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'pacer-bench-dns-'));
  try {
    const emulator = await startEmulator();
    started.push(emulator);
    for (let i = 0; i < APPS; i++) {
      await emulator.post('/apps', {
        app: {
          id: `/group${i % 10}/app${i}`,
          instances: TASKS,
          cmd: 'serve',
          labels: { HAPROXY_GROUP: 'not-exposed' },
          container: { type: 'MESOS', portMappings: [{ containerPort: 8080, name: 'http', protocol: 'tcp' }] },
          networks: [{ mode: 'container', name: 'overlay' }],
        },
        backend: 'none',
      });
    }
    const pacerPort = await freePort();
    const pacer = await startPacer(['--marathon', emulator.leader, '--dns-bind', '127.0.0.1', '--dns-port', String(pacerPort), '--log-level', 'info']);
    started.push(pacer);
    const axfr = await waitFor(
      'pacer to serve every task in DNS',
      async () => {
        const a = (await (await fetch(`${pacer.admin}/v1/axfr`)).json()) as Axfr;
        const srvTargets = Object.entries(a.Records.SRVs).filter(([n]) => n.startsWith('_app') && n.includes('._tcp.marathon.') && !n.includes('.slave.'));
        const total = srvTargets.reduce((acc, [, t]) => acc + t.length, 0);
        return total >= APPS * TASKS ? a : undefined;
      },
      60_000,
      200,
    );
    const zone = join(dir, 'mesos.zone');
    writeFileSync(zone, zoneFile(axfr));
    const nsdPort = await freePort();
    const conf = join(dir, 'nsd.conf');
    writeFileSync(conf, nsdConfig(dir, nsdPort, zone, axfr.Domain));
    const check = await run('/usr/sbin/nsd-checkconf', [conf], 10_000);
    if (check.code !== 0) throw new Error(`nsd-checkconf: ${check.stdout}${check.stderr}`);
    startChild(NSD, ['-d', '-c', conf]);

    // Query files: every app-level and task-level A name, every SRV name (same for both servers).
    const aNames = Object.keys(axfr.Records.As).filter((n) => n.includes('.marathon.') && !n.includes('.slave.'));
    const srvNames = Object.keys(axfr.Records.SRVs).filter((n) => n.includes('._tcp.marathon.') && !n.includes('.slave.'));
    const aFile = join(dir, 'queries-a.txt');
    const srvFile = join(dir, 'queries-srv.txt');
    writeFileSync(aFile, `${aNames.map((n) => `${n} A`).join('\n')}\n`);
    writeFileSync(srvFile, `${srvNames.map((n) => `${n} SRV`).join('\n')}\n`);
    const probeA = aNames.find((n) => /^app\d+-group\d+\.marathon\./.test(n)) ?? aNames[0]!;
    await waitFor('nsd to answer', () => answered(nsdPort, probeA, 1), 10_000, 100);
    await waitFor('pacer to answer', () => answered(pacerPort, probeA, 1), 10_000, 100);
    log(`dns: ${aNames.length} A names, ${srvNames.length} SRV names; pacer :${pacerPort}, nsd :${nsdPort}`);

    const args = (port: number, file: string) => ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(o.seconds), '-c', '1', '-q', '100'];
    const figures = new Map<string, number[]>();
    const losses = new Map<string, number>();
    for (let round = 0; round < o.runs; round++) {
      for (const [type, file] of [['A', aFile], ['SRV', srvFile]] as const) {
        for (const [server, port] of [['pacer', pacerPort], ['nsd', nsdPort]] as const) {
          const r = await run(DNSPERF, args(port, file), (o.seconds + 30) * 1000);
          const p = parseDnsperf(r.stdout);
          if (!Number.isFinite(p.qps)) log(`dnsperf output without a rate: ${r.stdout}${r.stderr}`);
          log(`dns round ${round + 1}/${o.runs} ${type} ${server}: ${Math.round(p.qps)} qps, ${p.lost} lost`);
          const key = `${server} ${type}`;
          figures.set(key, [...(figures.get(key) ?? []), p.qps]);
          losses.set(key, (losses.get(key) ?? 0) + (Number.isFinite(p.lost) ? p.lost : 0));
        }
      }
    }
    const cmd = (type: string) => `dnsperf ${args(0, `queries-${type.toLowerCase()}.txt`).join(' ').replace('-p 0', '-p <port>')}`;
    const row = (type: 'A' | 'SRV', count: number): Row => ({
      bench: `DNS ${type} queries/s, cached answers`,
      summary: 'runs',
      unit: 'qps',
      pacer: figures.get(`pacer ${type}`) ?? [],
      peer: { name: `NSD ${'(1 server process, rrl off)'}`, values: figures.get(`nsd ${type}`) ?? [] },
      target: { kind: 'ratio-at-least', min: 0.6 },
      command: cmd(type),
      note: `${APPS} apps × ${TASKS} tasks (IP-per-task) from the emulator; the zone file for NSD generated from pacer's /v1/axfr; ${count} ${type} names cycled; queries lost: pacer ${losses.get(`pacer ${type}`)}, NSD ${losses.get(`nsd ${type}`)}; medians ${Math.round(median(figures.get(`pacer ${type}`) ?? []))} vs ${Math.round(median(figures.get(`nsd ${type}`) ?? []))}`,
    });
    return [row('A', aNames.length), row('SRV', srvNames.length)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
