/**
 * Acceptance 1: the emulator runs a Habitat-labelled app with three tasks whose gossip ports are real
 * UDP+TCP echo servers; pacer (a separate process, DNS on) lists exactly the routable tasks in its
 * peer list (text and JSON) and SRV records, in a stable order, and a task turning unhealthy leaves
 * both within 1 s.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digShort, freePort } from '../helpers/dns.ts';
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
    socket.send(payload, port, '127.0.0.1');
  });
}

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  await emulator.post('/apps', { app: APP, backend: 'tcp', autoHealthy: true });
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
    await Promise.all([
      waitFor('the peer list to drop the unhealthy task', async () => ((await peersText()).body === expected ? true : undefined), 1_000),
      waitFor('the SRV records to drop the unhealthy task', async () => (JSON.stringify(await srvPorts(SRV_UDP)) === JSON.stringify(wellPorts) ? true : undefined), 1_000),
    ]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(JSON.stringify(await srvPorts(SRV_TCP))).toBe(JSON.stringify(wellPorts));
    expect(await metric(pacer.admin, 'pacer_habitat_ring_members', { ring: 'it-ring', state: 'unhealthy' })).toBe(1);
  });
});
