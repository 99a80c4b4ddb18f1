/**
 * Acceptance 1: the emulator runs a Habitat-labelled app with three tasks whose gossip ports are real
 * UDP+TCP echo servers; pacer (a separate process, DNS on) lists exactly the routable tasks in its
 * peer list (text and JSON) and SRV records, in a stable order, and a task turning unhealthy leaves
 * both within 1 s.
 *
 * The ring-wide names (`_hab-gossip._R._udp.habitat.mesos` SRV, `R.habitat.mesos` A, dug over UDP)
 * list exactly the peer list's members, for that app (host networking: every member on 127.0.0.1)
 * and for a second ring of three IP-per-task supervisors (each on its own loopback address, on the
 * fixed 9638), and shrink within 1 s when a member turns unhealthy.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digFlags, digSection, digShort, digStatus, freePort } from '../helpers/dns.ts';
import { getJson, metric, startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

interface MarathonTask {
  id: string;
  host: string;
  ports: number[];
  state: string;
  startedAt?: string;
}

const APP = {
  id: '/it/hab',
  instances: 3,
  cmd: 'hab sup run core/redis',
  labels: { HABITAT_RING: 'it-ring' },
  portDefinitions: [
    { port: 0, protocol: 'udp,tcp', name: 'hab-gossip' },
    { port: 0, protocol: 'tcp', name: 'hab-http' },
  ],
  healthChecks: [{ protocol: 'MESOS_TCP', portIndex: 1, intervalSeconds: 1, gracePeriodSeconds: 1 }],
};
const SRV_UDP = '_hab-gossip._hab-it._udp.marathon.mesos';
const SRV_TCP = '_hab-gossip._hab-it._tcp.marathon.mesos';

/** A second ring: IP-per-task supervisors, each on its own loopback address, gossip on the fixed 9638. */
const IP_APP = {
  id: '/it/hab-ip',
  instances: 3,
  cmd: 'hab sup run core/redis',
  labels: { HABITAT_RING: 'it-ip' },
  networks: [{ mode: 'container', name: 'dcos' }],
  container: {
    type: 'MESOS',
    portMappings: [
      { containerPort: 9638, protocol: 'udp,tcp', name: 'hab-gossip' },
      { containerPort: 9631, protocol: 'tcp', name: 'hab-http' },
    ],
  },
  healthChecks: [{ protocol: 'MESOS_TCP', portIndex: 1, intervalSeconds: 1, gracePeriodSeconds: 1 }],
};

interface PeerJson {
  taskId: string;
  ip: string;
  gossipPort: number;
  httpPort: number | null;
}

/** A ring's peer list as JSON. */
async function peersJson(ring: string): Promise<PeerJson[]> {
  const response = await fetch(`${pacer.admin}/v1/habitat/rings/${ring}/peers`, { headers: { accept: 'application/json' } });
  return (await response.json()) as PeerJson[];
}

/** What the ring-wide names must hold for these members: `ip:port` per member, and the distinct IPs. */
function expectedRingNames(members: readonly PeerJson[]): { srv: string[]; a: string[] } {
  return { srv: members.map((m) => `${m.ip}:${m.gossipPort}`).sort(), a: [...new Set(members.map((m) => m.ip))].sort() };
}

/**
 * `_hab-gossip._<ring>._udp.habitat.mesos SRV` over UDP: each answer as `ip:port`, the IP from the
 * additional section (the target's A record), and the targets.
 */
async function ringSrv(ring: string, proto: 'udp' | 'tcp' = 'udp', service = 'hab-gossip'): Promise<{ srv: string[]; targets: string[] }> {
  const out = await dig(dnsPort, [`_${service}._${ring}._${proto}.habitat.mesos`, 'SRV', '+notcp']);
  expect(digStatus(out)).toBe('NOERROR');
  expect(digFlags(out)).toContain('aa');
  expect(digFlags(out)).not.toContain('tc');
  const addresses = new Map<string, string>();
  for (const line of digSection(out, 'ADDITIONAL')) {
    const [owner, , , type, ip] = line.split(' ');
    if (type === 'A') addresses.set(owner!, ip!);
  }
  const srv: string[] = [];
  const targets: string[] = [];
  for (const line of digSection(out, 'ANSWER')) {
    const [, , , type, priority, weight, port, target] = line.split(' ');
    expect([type, priority, weight]).toEqual(['SRV', '0', '1']);
    targets.push(target!);
    srv.push(`${addresses.get(target!) ?? `no A for ${target}`}:${port}`);
  }
  return { srv: srv.sort(), targets: targets.sort() };
}

/** `<ring>.habitat.mesos A` over UDP. */
function ringA(ring: string): Promise<string[]> {
  return digShort(dnsPort, [`${ring}.habitat.mesos`, 'A', '+notcp']);
}

/** The ring-wide names hold exactly what the peer list holds (the JSON peer list read first). */
async function ringNamesMatchPeers(ring: string): Promise<{ members: PeerJson[]; srv: string[]; a: string[] } | undefined> {
  const members = await peersJson(ring);
  const expected = expectedRingNames(members);
  const srv = await ringSrv(ring);
  const a = await ringA(ring);
  if (JSON.stringify(srv.srv) !== JSON.stringify(expected.srv) || JSON.stringify(a) !== JSON.stringify(expected.a)) return undefined;
  return { members, srv: srv.srv, a };
}

let emulator: EmulatorProc;
let pacer: PacerProc;
let dnsPort: number;

async function runningTasks(): Promise<MarathonTask[]> {
  const { body } = await getJson<{ app: { tasks: MarathonTask[] } }>(`${emulator.leader}/v2/apps${APP.id}`);
  return body.app.tasks.filter((t) => t.state === 'TASK_RUNNING');
}

/** The peer file pacer must serve for these tasks: by IP, then gossip port. */
function expectedPeers(tasks: readonly MarathonTask[]): string {
  return [...tasks]
    .sort((a, b) => a.host.localeCompare(b.host) || a.ports[0]! - b.ports[0]!)
    .map((t) => `${t.host}:${t.ports[0]}\n`)
    .join('');
}

async function peersText(): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`${pacer.admin}/v1/habitat/rings/it-ring/peers`);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

async function srvPorts(name: string): Promise<number[]> {
  const lines = await digShort(dnsPort, [name, 'SRV']);
  return lines.map((l) => Number(l.split(/\s+/)[2])).sort((a, b) => a - b);
}

function udpEcho(port: number, payload: string): Promise<string> {
  return udpEchoAt('127.0.0.1', port, payload);
}

function udpEchoAt(ip: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP echo'));
    }, 2_000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg.toString());
    });
    socket.send(payload, port, ip);
  });
}

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: APP, backend: 'tcp', autoHealthy: true });
  await emulator.post('/apps', { app: IP_APP, backend: 'tcp', autoHealthy: true });
  dnsPort = await freePort();
  pacer = await startPacer(['--marathon', emulator.leader, '--dns-bind', '127.0.0.1', '--dns-port', String(dnsPort), '--dns-domain', 'mesos']);
});

afterAll(async () => {
  await pacer?.stop();
  await emulator?.stop();
});

describe('Habitat peer lists and SRV records against the emulator', () => {
  let tasks: MarathonTask[];

  it('lists exactly the three routable tasks in the peer-watch-file format, in a stable order', async () => {
    tasks = await waitFor('3 running tasks', async () => {
      const ts = await runningTasks();
      return ts.length === 3 ? ts : undefined;
    });
    const expected = expectedPeers(tasks);
    expect(expected.split('\n')).toHaveLength(4);
    const text = await waitFor('the peer list to list the 3 healthy tasks', async () => {
      const r = await peersText();
      return r.body === expected ? r : undefined;
    }, 10_000);
    expect(text.status).toBe(200);
    expect(text.type).toMatch(/^text\/plain/);
    // Stable: asked again, the same bytes.
    expect((await peersText()).body).toBe(expected);
    // The listed address is the task's own gossip port: UDP and TCP on one number.
    const [ip, port] = expected.split('\n')[0]!.split(':');
    expect(ip).toBe('127.0.0.1');
    expect(await udpEcho(Number(port), 'ping')).toMatch(/ ping$/);
  });

  it('answers JSON with Accept: application/json, in the same order', async () => {
    const response = await fetch(`${pacer.admin}/v1/habitat/rings/it-ring/peers`, { headers: { accept: 'application/json' } });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as Record<string, unknown>[];
    expect(body.map((m) => `${m['ip']}:${m['gossipPort']}\n`).join('')).toBe(expectedPeers(tasks));
    const byId = new Map(tasks.map((t) => [t.id, t]));
    for (const m of body) {
      expect(Object.keys(m)).toEqual(['taskId', 'app', 'ip', 'gossipPort', 'httpPort', 'permanent', 'healthy', 'startedAt']);
      const t = byId.get(String(m['taskId']))!;
      expect(m).toEqual({ taskId: t.id, app: '/it/hab', ip: '127.0.0.1', gossipPort: t.ports[0], httpPort: t.ports[1], permanent: false, healthy: true, startedAt: t.startedAt });
    }
  });

  it('serves the named-port SRV records under _udp and _tcp for exactly those tasks', async () => {
    const ports = tasks.map((t) => t.ports[0]!).sort((a, b) => a - b);
    expect(await srvPorts(SRV_UDP)).toEqual(ports);
    expect(await srvPorts(SRV_TCP)).toEqual(ports);
  });

  it('serves the ring-wide names for exactly the members of the peer list', async () => {
    const members = await peersJson('it-ring');
    expect(members.map((m) => m.taskId).sort()).toEqual(tasks.map((t) => t.id).sort());
    const expected = expectedRingNames(members);
    expect(expected.a).toEqual(['127.0.0.1']);
    const udp = await ringSrv('it-ring');
    expect(udp.srv).toEqual(expected.srv);
    // Each member has a name of its own under the ring: `T-H-S.R.habitat.D`.
    expect(udp.targets).toHaveLength(3);
    expect(new Set(udp.targets).size).toBe(3);
    for (const target of udp.targets) expect(target).toMatch(/^hab-it-[a-z0-9]{5}-s0\.it-ring\.habitat\.mesos\.$/);
    for (const target of udp.targets) expect(await digShort(dnsPort, [target, 'A', '+notcp'])).toEqual(['127.0.0.1']);
    expect((await ringSrv('it-ring', 'tcp')).srv).toEqual(expected.srv);
    expect((await ringSrv('it-ring', 'tcp', 'hab-http')).srv).toEqual(members.map((m) => `${m.ip}:${m.httpPort}`).sort());
    expect(await ringA('it-ring')).toEqual(expected.a);
    // A ring nobody is in has no names; the sub-zone exists (NODATA, not NXDOMAIN).
    expect(digStatus(await dig(dnsPort, ['nope.habitat.mesos', 'A', '+notcp']))).toBe('NXDOMAIN');
    expect(digStatus(await dig(dnsPort, ['habitat.mesos', 'A', '+notcp']))).toBe('NOERROR');
  });

  it('lists the ring, counts its members and answers 404 for an unknown ring', async () => {
    const { body } = await getJson<{ rings: { name: string; members: unknown[]; counts: Record<string, number>; apps: { id: string }[] }[] }>(`${pacer.admin}/v1/habitat/rings`);
    const ring = body.rings.find((r) => r.name === 'it-ring');
    expect(ring?.apps.map((a) => a.id)).toEqual(['/it/hab']);
    expect(ring?.members).toHaveLength(3);
    expect(await metric(pacer.admin, 'pacer_habitat_ring_members', { ring: 'it-ring', state: 'healthy' })).toBe(3);
    const missing = await fetch(`${pacer.admin}/v1/habitat/rings/nope/peers`);
    expect(missing.status).toBe(404);
    await missing.text();
    expect(await metric(pacer.admin, 'pacer_habitat_peer_list_requests_total', { format: 'text' })).toBeGreaterThan(0);
  });

  it('drops a task that turns unhealthy from the peer list and the SRV records within 1 s', async () => {
    const [sick, ...well] = [...tasks].sort((a, b) => a.ports[0]! - b.ports[0]!);
    await emulator.post(`/tasks/${sick!.id}/health`, { alive: false });
    const started = Date.now();
    const expected = expectedPeers(well);
    const wellPorts = well.map((t) => t.ports[0]!).sort((a, b) => a - b);
    const wellRing = well.map((t) => `127.0.0.1:${t.ports[0]}`).sort();
    await Promise.all([
      waitFor('the peer list to drop the unhealthy task', async () => ((await peersText()).body === expected ? true : undefined), 1_000),
      waitFor('the SRV records to drop the unhealthy task', async () => (JSON.stringify(await srvPorts(SRV_UDP)) === JSON.stringify(wellPorts) ? true : undefined), 1_000),
      waitFor('the ring-wide SRV name to drop the unhealthy task', async () => (JSON.stringify((await ringSrv('it-ring')).srv) === JSON.stringify(wellRing) ? true : undefined), 1_000),
    ]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(JSON.stringify(await srvPorts(SRV_TCP))).toBe(JSON.stringify(wellPorts));
    expect((await ringSrv('it-ring', 'tcp')).srv).toEqual(wellRing);
    expect(await ringA('it-ring')).toEqual(['127.0.0.1']);
    expect(await metric(pacer.admin, 'pacer_habitat_ring_members', { ring: 'it-ring', state: 'unhealthy' })).toBe(1);
  });
});

describe('Habitat ring-wide names of IP-per-task supervisors', () => {
  let members: PeerJson[];

  it('lists every member at its own address, in the SRV name and the ring A name', async () => {
    const found = await waitFor('the ring-wide names to list the 3 members of the peer list', async () => {
      const r = await ringNamesMatchPeers('it-ip');
      return r && r.members.length === 3 ? r : undefined;
    }, 10_000);
    members = found.members;
    // Three addresses of their own (not 127.0.0.1), each on the fixed 9638.
    expect(found.a).toHaveLength(3);
    for (const ip of found.a) expect(ip).toMatch(/^127\.0\.\d+\.\d+$/);
    expect(found.a).not.toContain('127.0.0.1');
    expect(members.every((m) => m.gossipPort === 9638)).toBe(true);
    expect(found.srv).toEqual(found.a.map((ip) => `${ip}:9638`).sort());
    // The SRV targets are the members' names under the ring, each with the member's address.
    const { targets } = await ringSrv('it-ip');
    for (const target of targets) expect(target).toMatch(/^hab-ip-it-[a-z0-9]{5}-s0\.it-ip\.habitat\.mesos\.$/);
    const resolved = (await Promise.all(targets.map((target) => digShort(dnsPort, [target, 'A', '+notcp'])))).flat().sort();
    expect(resolved).toEqual(found.a);
    // And the address is the supervisor's: its gossip port answers UDP there.
    const sample = members[0]!;
    expect(await udpEchoAt(sample.ip, sample.gossipPort, 'ping')).toBe(`${sample.taskId} ping`);
  });

  it('drops a member that turns unhealthy from the ring-wide names within 1 s', async () => {
    const [sick, ...well] = members;
    await emulator.post(`/tasks/${sick!.taskId}/health`, { alive: false });
    const started = Date.now();
    const expected = expectedRingNames(well);
    await Promise.all([
      waitFor('the ring SRV name to drop the unhealthy member', async () => (JSON.stringify((await ringSrv('it-ip')).srv) === JSON.stringify(expected.srv) ? true : undefined), 1_000),
      waitFor('the ring A name to drop the unhealthy member', async () => (JSON.stringify(await ringA('it-ip')) === JSON.stringify(expected.a) ? true : undefined), 1_000),
    ]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(expected.a).not.toContain(sick!.ip);
    // The same as the peer list, under _tcp too.
    expect(expectedRingNames(await peersJson('it-ip'))).toEqual(expected);
    expect((await ringSrv('it-ip', 'tcp')).srv).toEqual(expected.srv);
  });
});
